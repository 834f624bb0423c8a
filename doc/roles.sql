-- rbackup2 database roles, step 1 of 2 (see doc/deployment.md, "Database setup").
-- Run once per PostgreSQL cluster as a superuser (psql -U postgres -f doc/roles.sql).
-- Idempotent: an existing role is left as it is. Set passwords afterwards with psql's
-- \password backup_admin (and so on): that never puts a password in this file or the server log.
--
--   backup_admin   owns the schema and runs the migrations (`rbackup2 migrate`), the admin CLI,
--                  the Relica import and any SQL a fleet admin writes
--   backup_client  shared by agents of an existing fleet or a server before 15 (doc/grants.sql)
--   per device     the default on PostgreSQL 15+: `rbackup2 device login DEVICE_ID` creates
--                  rb2_<8 hex of the database name>_<device>_<hash> roles and their group
--                  rb2_<8 hex>_devices; row-level security keeps each to its own device's rows
--   backup_viewer  read-only dashboards and reports; no passwords or repository secrets

DO $$
DECLARE
    r TEXT;
BEGIN
    FOREACH r IN ARRAY ARRAY['backup_admin', 'backup_client', 'backup_viewer'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created at the same moment by another session
            END;
        END IF;
    END LOOP;
END
$$;
