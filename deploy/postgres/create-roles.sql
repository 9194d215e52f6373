-- Foreman with two database roles: foreman_owner owns the schema and runs migrations;
-- foreman_app runs the app and may only add to and read the compliance evidence.
-- Run once as a superuser, connected to the server's `postgres` database (PostgreSQL 15 or later):
--   psql "postgres://postgres@db:5432/postgres" -v ON_ERROR_STOP=1 -f deploy/postgres/create-roles.sql
-- Then give both roles passwords (\password foreman_owner, \password foreman_app in psql).
CREATE ROLE foreman_owner LOGIN;
CREATE ROLE foreman_app LOGIN;
CREATE DATABASE foreman OWNER foreman_owner;
-- Every `foreman serve` start runs drizzle's migrator, whose first statement is
-- `CREATE SCHEMA IF NOT EXISTS drizzle`; PostgreSQL checks CREATE on the database even when the
-- schema exists. CREATE lets the role make new schemas, not change tables it does not own.
GRANT CONNECT, CREATE ON DATABASE foreman TO foreman_app;
