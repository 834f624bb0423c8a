-- rbackup2 database roles, step 2 of 2 (see doc/deployment.md, "Database setup").
-- Run connected to the rbackup2 database as a superuser, AFTER `rbackup2 migrate` has created the
-- tables as backup_admin, and again after every upgrade that adds a migration. Idempotent.
-- test/ops/roles.test.ts runs this very file and then an agent as backup_client.
--
-- The default for a fleet on PostgreSQL 15 or later is one role PER DEVICE, not backup_client:
-- `rbackup2 device login DEVICE_ID` (run by the admin as a superuser or a CREATEROLE role) creates
-- the device's login role, gives its database's device group the rights backup_client gets below
-- plus the local editor's (its own jobs, schedules and device settings), and row-level security
-- (migration 006) keeps it to its own rows: it cannot read another device's jobs or repository
-- passwords. backup_client stays for existing fleets and servers before 15; an agent that uses it
-- logs a warning once at start. This file is still run for backup_admin and backup_viewer.

-- Nobody but the schema's owner and backup_admin creates objects (PostgreSQL < 15 lets PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO backup_admin;
GRANT USAGE ON SCHEMA public TO backup_client, backup_viewer;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO backup_admin, backup_client, backup_viewer', current_database());
END
$$;

-- backup_client: one agent.
-- Reads its configuration, the change marker and the migration list (migrate() at start checks
-- that nothing is pending and takes no DDL lock when the database is up to date).
GRANT SELECT ON devices, repositories, backup_jobs, schedules, backup_hooks, settings,
                config_versions, schema_migrations, runs, latest_runs, job_summary
    TO backup_client;
-- Registers itself (INSERT) and refreshes its row (start and every heartbeat).
GRANT INSERT (id, name, description, platform, hostname, last_seen, metadata) ON devices TO backup_client;
GRANT UPDATE (name, description, platform, hostname, last_seen, metadata) ON devices TO backup_client;
-- Records runs; DELETE only for run_retention_days (src/runs/run-history-cleanup.ts).
GRANT INSERT, UPDATE, DELETE ON runs TO backup_client;
GRANT USAGE ON SEQUENCE runs_id_seq TO backup_client;
-- Stores when schedules last ran and run next (display only; bumps no config version).
GRANT UPDATE (last_run_at, next_run_at) ON schedules TO backup_client;
-- Records a job's stable restic --host at its first backup (C29; only while it is NULL).
GRANT UPDATE (restic_host) ON backup_jobs TO backup_client;
-- The retention marker: only its updated_at is touched (no config value can be changed).
GRANT UPDATE (updated_at) ON settings TO backup_client;
-- The change-marker trigger runs with the caller's rights: when an agent's registration changes
-- its device's name or metadata (e.g. after an upgrade), it bumps config_versions.
GRANT INSERT, UPDATE ON config_versions TO backup_client;
-- Issue 18: repository leases (prune/check/forget coordination) and the fleet's repository state.
GRANT SELECT, INSERT, UPDATE, DELETE ON repository_leases, repository_state TO backup_client;
GRANT USAGE ON SEQUENCE repository_leases_id_seq TO backup_client;
-- A job's retention policy (the local UI, and `rbackup2 job set-retention` run with the device's own config and role).
GRANT UPDATE (retention) ON backup_jobs TO backup_client;
-- Notifications (migration 012, issue 19): writes its own notification_outbox rows (run.failed,
-- run.recovered, ...; the notifier routes them) and reads the leases (is a notifier alive?). Nothing
-- on notification_channels (their config holds secrets) or notification_deliveries.
GRANT SELECT, INSERT ON notification_outbox TO backup_client;
GRANT SELECT ON leases TO backup_client;
-- LISTEN rbackup2_config and pg_notify need no grant.

-- The retention marker row, created here because backup_client may not insert settings.
INSERT INTO settings (device_id, key, value, description, updated_at)
VALUES (NULL, 'retention_last_run', '', 'Maintained by the agents: updated_at is when old run history was last deleted', '-infinity')
ON CONFLICT (key) WHERE device_id IS NULL DO NOTHING;

-- backup_viewer: read-only; no repository secrets (url may carry credentials, e.g. rest:https://user:pass@...)
-- and no settings values (repository_password is a setting).
GRANT SELECT ON devices, backup_jobs, schedules, backup_hooks, runs, latest_runs, job_summary,
                config_versions, schema_migrations, repository_state
    TO backup_viewer;
GRANT SELECT (id, name, cache_dir, created_at, updated_at) ON repositories TO backup_viewer;
GRANT SELECT (id, device_id, key, description, created_at, updated_at) ON settings TO backup_viewer;
