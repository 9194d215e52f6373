-- compliance_checkpoints is append-only like compliance_records: a signed checkpoint is never changed or removed.
CREATE OR REPLACE FUNCTION foreman_reject_append_only_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER compliance_checkpoints_no_update_delete
  BEFORE UPDATE OR DELETE ON compliance_checkpoints
  FOR EACH ROW EXECUTE FUNCTION foreman_reject_append_only_change();
--> statement-breakpoint
CREATE TRIGGER compliance_checkpoints_no_truncate
  BEFORE TRUNCATE ON compliance_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION foreman_reject_append_only_change();
