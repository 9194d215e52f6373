CREATE TABLE "github_write_pace" (
	"installation_id" bigint PRIMARY KEY NOT NULL,
	"next_at" timestamp with time zone NOT NULL,
	"blocked_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
