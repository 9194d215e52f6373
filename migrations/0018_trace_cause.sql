ALTER TABLE "agent_jobs" ADD COLUMN "cause_delivery_id" text;--> statement-breakpoint
ALTER TABLE "agent_jobs" ADD COLUMN "traceparent" text;--> statement-breakpoint
ALTER TABLE "effects" ADD COLUMN "cause_delivery_id" text;--> statement-breakpoint
ALTER TABLE "effects" ADD COLUMN "traceparent" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "cause_delivery_id" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "traceparent" text;