-- Config change marker: lets an agent check "did my configuration change?" with one cheap query
-- and be told at once via NOTIFY, whether the change came from the agent's API, the admin CLI or an
-- admin's plain SQL (UPDATE backup_jobs SET source_paths = ... WHERE id = ...).
--
-- config_versions holds one row per device plus the row device_id = '*' for what all devices share
-- (global settings, repositories). Every INSERT/UPDATE/DELETE that changes a device's config bumps
-- its row's version and sends pg_notify('rbackup2_config', <device_id>) (or '*' for shared rows).
-- A sync compares (device version, '*' version) with the last one it loaded; see getConfigVersion.
--   backup_jobs   -> the job's device (both devices when a job moves)
--   schedules, backup_hooks -> the device of their job
--   settings      -> its device, or '*' when device_id IS NULL
--   repositories  -> '*'
--   devices       -> the device, only when name/description/enabled/metadata change (not the heartbeat)
-- An UPDATE that changes nothing (or only updated_at, or a schedule's last_run_at/next_run_at written by
-- the agent after a run) does not bump. Also: updated_at is set to now() by a trigger on every UPDATE.

CREATE TABLE config_versions (
    device_id  VARCHAR(255) PRIMARY KEY,           -- a devices.id, or '*' for global settings/repositories
    version    BIGINT NOT NULL DEFAULT 0,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION rbackup2_bump_config(dev VARCHAR) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF dev IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO config_versions AS cv (device_id, version, changed_at) VALUES (dev, 1, now())
    ON CONFLICT (device_id) DO UPDATE SET version = cv.version + 1, changed_at = now();
    PERFORM pg_notify('rbackup2_config', dev);
END;
$$;

-- True when the row changed in something other than the ignored columns.
CREATE FUNCTION rbackup2_row_changed(old_row JSONB, new_row JSONB, ignored TEXT[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (old_row - ignored) IS DISTINCT FROM (new_row - ignored)
$$;

CREATE FUNCTION rbackup2_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ignored TEXT[] := ARRAY['updated_at'];
    old_dev VARCHAR;
    new_dev VARCHAR;
BEGIN
    IF TG_TABLE_NAME = 'schedules' THEN
        ignored := ARRAY['updated_at', 'last_run_at', 'next_run_at'];
    ELSIF TG_TABLE_NAME = 'devices' THEN
        ignored := ARRAY['updated_at', 'last_seen', 'platform', 'hostname', 'created_at'];
    END IF;
    IF TG_OP = 'UPDATE' AND NOT rbackup2_row_changed(to_jsonb(OLD), to_jsonb(NEW), ignored) THEN
        RETURN NULL;
    END IF;

    IF TG_TABLE_NAME = 'devices' THEN
        old_dev := NEW.id;   -- only fires on UPDATE
    ELSIF TG_TABLE_NAME = 'backup_jobs' THEN
        IF TG_OP <> 'INSERT' THEN old_dev := OLD.device_id; END IF;
        IF TG_OP <> 'DELETE' THEN new_dev := NEW.device_id; END IF;
    ELSIF TG_TABLE_NAME = 'schedules' OR TG_TABLE_NAME = 'backup_hooks' THEN
        IF TG_OP <> 'INSERT' THEN SELECT device_id INTO old_dev FROM backup_jobs WHERE id = OLD.job_id; END IF;
        IF TG_OP <> 'DELETE' THEN SELECT device_id INTO new_dev FROM backup_jobs WHERE id = NEW.job_id; END IF;
    ELSIF TG_TABLE_NAME = 'settings' THEN
        IF TG_OP <> 'INSERT' THEN old_dev := COALESCE(OLD.device_id, '*'); END IF;
        IF TG_OP <> 'DELETE' THEN new_dev := COALESCE(NEW.device_id, '*'); END IF;
    ELSE -- repositories
        old_dev := '*';
    END IF;

    PERFORM rbackup2_bump_config(old_dev);
    IF new_dev IS DISTINCT FROM old_dev THEN
        PERFORM rbackup2_bump_config(new_dev);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION rbackup2_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER backup_jobs_config_changed AFTER INSERT OR UPDATE OR DELETE ON backup_jobs
    FOR EACH ROW EXECUTE FUNCTION rbackup2_config_changed();
CREATE TRIGGER schedules_config_changed AFTER INSERT OR UPDATE OR DELETE ON schedules
    FOR EACH ROW EXECUTE FUNCTION rbackup2_config_changed();
CREATE TRIGGER backup_hooks_config_changed AFTER INSERT OR UPDATE OR DELETE ON backup_hooks
    FOR EACH ROW EXECUTE FUNCTION rbackup2_config_changed();
CREATE TRIGGER settings_config_changed AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION rbackup2_config_changed();
CREATE TRIGGER repositories_config_changed AFTER INSERT OR UPDATE OR DELETE ON repositories
    FOR EACH ROW EXECUTE FUNCTION rbackup2_config_changed();
CREATE TRIGGER devices_config_changed AFTER UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION rbackup2_config_changed();

CREATE TRIGGER devices_touch BEFORE UPDATE ON devices FOR EACH ROW EXECUTE FUNCTION rbackup2_touch_updated_at();
CREATE TRIGGER repositories_touch BEFORE UPDATE ON repositories FOR EACH ROW EXECUTE FUNCTION rbackup2_touch_updated_at();
CREATE TRIGGER backup_jobs_touch BEFORE UPDATE ON backup_jobs FOR EACH ROW EXECUTE FUNCTION rbackup2_touch_updated_at();
CREATE TRIGGER schedules_touch BEFORE UPDATE ON schedules FOR EACH ROW EXECUTE FUNCTION rbackup2_touch_updated_at();
CREATE TRIGGER settings_touch BEFORE UPDATE ON settings FOR EACH ROW EXECUTE FUNCTION rbackup2_touch_updated_at();
