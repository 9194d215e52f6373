CREATE TABLE "agent_jobs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"role" text NOT NULL,
	"profile" text NOT NULL,
	"image" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"base_sha" text NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"replica" text,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"exit_code" integer,
	"failure_code" text,
	"failure_message" text,
	"result" jsonb,
	"usage" jsonb,
	"prompt" text,
	"prompt_sha256" text,
	"log" text,
	"log_token" text NOT NULL,
	"pushed_sha" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "step" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "agent_ms_used" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "agent_tokens_used" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "agent_cost_usd" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "step_restarts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_jobs" ADD CONSTRAINT "agent_jobs_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_jobs_queue_idx" ON "agent_jobs" USING btree ("available_at") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "agent_jobs_task_idx" ON "agent_jobs" USING btree ("task_id");