-- Run as foreman_owner in the foreman database after every `foreman migrate`, so new tables are covered:
--   psql "postgres://foreman_owner@db:5432/foreman" -v ON_ERROR_STOP=1 -f deploy/postgres/grant-app-role.sql
GRANT USAGE ON SCHEMA public TO foreman_app;
-- The migrator's bookkeeping: the app only checks that nothing is pending (and needs CREATE for
-- drizzle's `CREATE TABLE IF NOT EXISTS`, which PostgreSQL checks even when the table exists).
GRANT USAGE, CREATE ON SCHEMA drizzle TO foreman_app;
GRANT SELECT ON drizzle.__drizzle_migrations TO foreman_app;
-- Working tables: read and write.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO foreman_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO foreman_app;
-- The evidence: INSERT and SELECT only. The owner keeps the right to change it; the triggers and
-- the hash chain, checkpoints and `foreman verify` are there for that case.
REVOKE UPDATE, DELETE, TRUNCATE ON compliance_records, compliance_checkpoints, artifacts FROM foreman_app;
