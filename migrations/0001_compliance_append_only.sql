-- compliance_records is append-only: the database itself refuses to change or remove a record.
CREATE OR REPLACE FUNCTION foreman_reject_compliance_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'compliance_records is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER compliance_records_no_update_delete
  BEFORE UPDATE OR DELETE ON compliance_records
  FOR EACH ROW EXECUTE FUNCTION foreman_reject_compliance_change();
--> statement-breakpoint
CREATE TRIGGER compliance_records_no_truncate
  BEFORE TRUNCATE ON compliance_records
  FOR EACH STATEMENT EXECUTE FUNCTION foreman_reject_compliance_change();
