-- Issue 18: retention and repository health (forget, prune, check) for a fleet sharing repositories.
--
-- backup_jobs.retention: restic's keep options of one job (NULL = keep everything, as before; the
-- global `retention` setting is the default). Keys keep_last, keep_hourly, keep_daily, keep_weekly,
-- keep_monthly, keep_yearly (whole numbers >= 0) and keep_within (a restic duration such as 30d);
-- the agent validates the keys and values (src/maintenance/retention-policy.ts), the database only
-- that it is an object.
ALTER TABLE backup_jobs ADD COLUMN retention JSONB NULL;
ALTER TABLE backup_jobs ADD CONSTRAINT backup_jobs_retention_object
    CHECK (retention IS NULL OR jsonb_typeof(retention) = 'object');

-- Maintenance schedules per repository row (NULL = the global setting of the same name; 'off' =
-- never). The repository of the global repository_* settings takes the global settings.
ALTER TABLE repositories ADD COLUMN prune_schedule VARCHAR(255) NULL;
ALTER TABLE repositories ADD COLUMN check_schedule VARCHAR(255) NULL;
ALTER TABLE repositories ADD COLUMN check_read_data_subset VARCHAR(32) NULL;

-- A repository is identified fleet-wide by restic's own repository id (`restic cat config`, 64 hex
-- digits): two rows, a row and the settings, or two URLs of one repository are one repository and
-- one restic lock. Repository-level runs of the settings repository (no repositories row) carry
-- only this id.
ALTER TABLE runs ADD COLUMN restic_repository_id VARCHAR(64) NULL;
ALTER TABLE runs DROP CONSTRAINT runs_job_or_repository_check;
ALTER TABLE runs ADD CONSTRAINT runs_job_or_repository_check
    CHECK (job_id IS NOT NULL OR repository_id IS NOT NULL OR restic_repository_id IS NOT NULL);
CREATE INDEX runs_restic_repository_id_idx ON runs (restic_repository_id, operation, start_time DESC)
    WHERE restic_repository_id IS NOT NULL;

-- What the fleet knows of each restic repository: size and snapshot count (restic stats --mode
-- raw-data, refreshed after prune) and who claimed the last prune and check (one device at a time
-- prunes a repository fleet-wide: whichever agent is due first claims it).
CREATE TABLE repository_state (
    restic_id          VARCHAR(64) PRIMARY KEY,
    name               VARCHAR(255) NOT NULL DEFAULT '',
    repository_id      UUID NULL REFERENCES repositories(id) ON DELETE SET NULL,
    size_bytes         BIGINT NULL,
    snapshot_count     INTEGER NULL,
    stats_at           TIMESTAMPTZ NULL,
    prune_claimed_at   TIMESTAMPTZ NULL,
    prune_claimed_by   VARCHAR(255) NULL,
    check_claimed_at   TIMESTAMPTZ NULL,
    check_claimed_by   VARCHAR(255) NULL,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Leases: rows with an owner and an expiry (database clock), renewed while the work runs; never
-- session advisory locks (they vanish with a discarded connection and do not work behind a
-- transaction-mode pooler). 'shared' = a backup runs; 'exclusive' = a prune, check, forget or
-- unlock runs; 'waiting' = an exclusive task waits for the shared ones to end (new backups wait,
-- bounded). A lease whose expires_at has passed is dead (its agent died or lost the database).
CREATE TABLE repository_leases (
    id          BIGSERIAL PRIMARY KEY,
    restic_id   VARCHAR(64) NOT NULL,
    mode        VARCHAR(16) NOT NULL CHECK (mode IN ('shared', 'exclusive', 'waiting')),
    operation   VARCHAR(16) NOT NULL,
    device_id   VARCHAR(255) NOT NULL,
    owner       VARCHAR(255) NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX repository_leases_restic_id_idx ON repository_leases (restic_id, expires_at);

-- Device roles (migration 006) write runs of repositories they use; a run of the settings
-- repository names only restic_repository_id.
DROP POLICY device_own_insert ON runs;
CREATE POLICY device_own_insert ON runs FOR INSERT
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user))
        AND (repository_id IS NULL OR rbackup2_device_uses_repository(device_id, repository_id))
        AND (CASE WHEN job_id IS NULL THEN repository_id IS NOT NULL OR restic_repository_id IS NOT NULL
             ELSE EXISTS (SELECT 1 FROM backup_jobs j WHERE j.id = runs.job_id AND j.device_id = runs.device_id) END)));
DROP POLICY device_own_update ON runs;
CREATE POLICY device_own_update ON runs FOR UPDATE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user))
        AND (job_id IS NOT NULL OR restic_repository_id IS NOT NULL
             OR rbackup2_device_uses_repository(device_id, repository_id))));
