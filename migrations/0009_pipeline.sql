CREATE TABLE "ci_results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"repo_id" bigint NOT NULL,
	"task_id" uuid,
	"suite_id" bigint NOT NULL,
	"head_sha" text NOT NULL,
	"head_branch" text,
	"app" text NOT NULL,
	"conclusion" text NOT NULL,
	"failures" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "system_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "default_branch_ci" text;--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "default_branch_ci_sha" text;--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "default_branch_ci_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "pipeline" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "check_run_id" bigint;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "check_run_sha" text;--> statement-breakpoint
CREATE INDEX "ci_results_task_idx" ON "ci_results" USING btree ("task_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "ci_results_suite_key" ON "ci_results" USING btree ("suite_id","conclusion","head_sha");--> statement-breakpoint
CREATE INDEX "tasks_repo_branch_idx" ON "tasks" USING btree ("repo_id","branch");