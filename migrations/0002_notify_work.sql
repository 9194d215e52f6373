-- Workers LISTEN on foreman_work; a statement-level trigger notifies them when events or effects
-- are queued, so the app needs no extra round trip per insert. Delivered at commit.
CREATE OR REPLACE FUNCTION foreman_notify_work() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('foreman_work', TG_TABLE_NAME);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER webhook_deliveries_notify_work
  AFTER INSERT ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION foreman_notify_work();
--> statement-breakpoint
CREATE TRIGGER effects_notify_work
  AFTER INSERT ON effects
  FOR EACH STATEMENT EXECUTE FUNCTION foreman_notify_work();
