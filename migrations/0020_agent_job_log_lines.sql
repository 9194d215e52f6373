CREATE TABLE "agent_job_log_lines" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"job_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"entry" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_job_log_lines" ADD CONSTRAINT "agent_job_log_lines_job_id_agent_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."agent_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_job_log_lines_job_idx" ON "agent_job_log_lines" USING btree ("job_id","seq");