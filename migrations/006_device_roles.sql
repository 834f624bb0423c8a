-- Per-device database roles with row-level security (issue 15, doc/deployment.md "Database roles").
-- `rbackup2 device login DEVICE_ID` creates a login role for one device and records it here; with
-- the policies below such a role sees and writes only its own device's rows. Roles not in this
-- table (backup_admin, the shared backup_client, backup_viewer) keep what their GRANTs give them:
-- every policy lets them through, so existing fleets and PostgreSQL < 15 work as before. The table
-- owner (and a superuser, e.g. the embedded database) bypasses row-level security.
--
-- A role that is recorded here stays a device role even when its device row is deleted (no
-- foreign key): it then sees nothing, never everything.

CREATE TABLE device_roles (
    role_name  VARCHAR(63) PRIMARY KEY,               -- PostgreSQL role names stop at 63 bytes
    device_id  VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX device_roles_device_id_idx ON device_roles (device_id);

-- The device of a role (NULL = not a device role). SECURITY DEFINER: device roles cannot read
-- device_roles themselves. Called as (SELECT rbackup2_role_device(current_user)) so a query
-- evaluates it once.
CREATE FUNCTION rbackup2_role_device(r NAME) RETURNS VARCHAR
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT device_id FROM device_roles WHERE role_name = r
$$;

-- True when one of the device's jobs uses the repository (policies on backup_jobs cannot query
-- backup_jobs themselves: that would recurse).
CREATE FUNCTION rbackup2_device_uses_repository(dev VARCHAR, repo UUID) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM backup_jobs WHERE device_id = dev AND repository_id = repo)
$$;

-- Settings a device never writes itself (CONTRACTS §8 admin-only; src/agent/admin-fields.ts).
CREATE FUNCTION rbackup2_admin_only_setting(k VARCHAR) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT k IN ('allow_local_command_changes', 'ui_password_hash', 'restore_roots') OR k LIKE 'repository\_%'
$$;

-- The change-marker triggers run as their owner: a device role needs no right on config_versions,
-- and the trigger sees the job of a schedule whatever the caller may see. A forged NOTIFY is only
-- a hint (it costs each agent one marker query).
ALTER FUNCTION rbackup2_bump_config(VARCHAR) SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION rbackup2_config_changed() SECURITY DEFINER SET search_path = public, pg_temp;

ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE backup_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE backup_hooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE repositories ENABLE ROW LEVEL SECURITY;
ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE config_versions ENABLE ROW LEVEL SECURITY;

-- devices: its own row (registration, heartbeat).
CREATE POLICY device_own ON devices
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR id = (SELECT rbackup2_role_device(current_user)))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR id = (SELECT rbackup2_role_device(current_user)));

-- backup_jobs: its own jobs; a job it creates has no restic_args (admin-only) and may use only a
-- repository its jobs already use (else the job could name any repository and read its password).
CREATE POLICY device_own_read ON backup_jobs FOR SELECT
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)));
CREATE POLICY device_own_insert ON backup_jobs FOR INSERT
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user)) AND restic_args = '[]'::jsonb
        AND (repository_id IS NULL OR rbackup2_device_uses_repository(device_id, repository_id))));
CREATE POLICY device_own_update ON backup_jobs FOR UPDATE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user))
        AND (repository_id IS NULL OR rbackup2_device_uses_repository(device_id, repository_id))));
CREATE POLICY device_own_delete ON backup_jobs FOR DELETE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)));

-- schedules and hooks: those of its own jobs (hooks are read-only for devices: no GRANT).
CREATE POLICY device_own_jobs ON schedules
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR EXISTS (
        SELECT 1 FROM backup_jobs j WHERE j.id = schedules.job_id AND j.device_id = (SELECT rbackup2_role_device(current_user))))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR EXISTS (
        SELECT 1 FROM backup_jobs j WHERE j.id = schedules.job_id AND j.device_id = (SELECT rbackup2_role_device(current_user))));
CREATE POLICY device_own_jobs ON backup_hooks
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR EXISTS (
        SELECT 1 FROM backup_jobs j WHERE j.id = backup_hooks.job_id AND j.device_id = (SELECT rbackup2_role_device(current_user))))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR EXISTS (
        SELECT 1 FROM backup_jobs j WHERE j.id = backup_hooks.job_id AND j.device_id = (SELECT rbackup2_role_device(current_user))));

-- settings: reads the global ones and its own; writes its own except the admin-only keys, and
-- touches the global run-retention marker (src/runs/retention.ts).
CREATE POLICY device_read ON settings FOR SELECT
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)));
CREATE POLICY device_insert ON settings FOR INSERT
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user)) AND NOT rbackup2_admin_only_setting(key)));
CREATE POLICY device_update ON settings FOR UPDATE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL
        OR (device_id = (SELECT rbackup2_role_device(current_user)) AND NOT rbackup2_admin_only_setting(key))
        OR (device_id IS NULL AND key = 'retention_last_run'))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL
        OR (device_id = (SELECT rbackup2_role_device(current_user)) AND NOT rbackup2_admin_only_setting(key))
        OR (device_id IS NULL AND key = 'retention_last_run'));
CREATE POLICY device_delete ON settings FOR DELETE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user)) AND NOT rbackup2_admin_only_setting(key)));

-- repositories: only those its jobs use (the global repository_* settings are settings).
CREATE POLICY device_used ON repositories FOR SELECT
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL
        OR rbackup2_device_uses_repository((SELECT rbackup2_role_device(current_user)), repositories.id));

-- runs: its own; a run it writes names its own device AND one of its own jobs.
CREATE POLICY device_own_read ON runs FOR SELECT
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)));
CREATE POLICY device_own_insert ON runs FOR INSERT
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user))
        AND EXISTS (SELECT 1 FROM backup_jobs j WHERE j.id = runs.job_id AND j.device_id = runs.device_id)));
CREATE POLICY device_own_update ON runs FOR UPDATE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)));
CREATE POLICY device_own_delete ON runs FOR DELETE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)));

-- config_versions: its own marker and the shared one ('*'); written only by the triggers.
CREATE POLICY device_markers ON config_versions FOR SELECT
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL
        OR device_id IN ((SELECT rbackup2_role_device(current_user)), '*'));
CREATE POLICY others_write ON config_versions FOR ALL
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL)
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL);

-- The views obey the caller's policies (PostgreSQL 15 and later; older servers keep owner views
-- and are used with the shared backup_client role only).
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 150000 THEN
        ALTER VIEW latest_runs SET (security_invoker = true);
        ALTER VIEW job_summary SET (security_invoker = true);
    END IF;
END
$$;
