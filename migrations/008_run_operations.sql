-- Issue 14 (operations): runs of several kinds.
-- runs.operation says what a run did: a backup (every existing row, and the default), or a restic
-- operation on a repository (forget, prune, check, restore, unlock). runs.repository_id names the
-- repository such an operation worked on; runs.job_id stays set when the operation belongs to a job
-- (a forget of one job's snapshots) and is NULL only for repository-level runs (a prune, a check).
-- A backup always has a job. The views latest_runs and job_summary keep meaning backups.
ALTER TABLE runs ADD COLUMN operation VARCHAR(16) NOT NULL DEFAULT 'backup';
ALTER TABLE runs ADD CONSTRAINT runs_operation_check
    CHECK (operation IN ('backup', 'forget', 'prune', 'check', 'restore', 'unlock'));
-- SET NULL keeps the history of a job's forget when its old repository row is deleted; a
-- repository-level run (job_id NULL) must be deleted first (the CHECK below refuses it otherwise).
ALTER TABLE runs ADD COLUMN repository_id UUID NULL REFERENCES repositories(id) ON DELETE SET NULL;
ALTER TABLE runs ALTER COLUMN job_id DROP NOT NULL;
ALTER TABLE runs ADD CONSTRAINT runs_job_or_repository_check
    CHECK (job_id IS NOT NULL OR repository_id IS NOT NULL);
ALTER TABLE runs ADD CONSTRAINT runs_backup_has_job_check
    CHECK (operation <> 'backup' OR job_id IS NOT NULL);
CREATE INDEX runs_repository_id_start_time_idx ON runs (repository_id, start_time DESC)
    WHERE repository_id IS NOT NULL;

-- The views keep meaning backups: latest_runs gets a filter on operation (CREATE OR REPLACE keeps
-- the GRANTs device groups and shared roles already have; r.* now ends with operation and
-- repository_id, which a replaced view may add at the end). job_summary reads latest_runs and
-- needs no change.
CREATE OR REPLACE VIEW latest_runs AS
SELECT DISTINCT ON (r.job_id) r.*
FROM runs r
WHERE r.operation = 'backup'
ORDER BY r.job_id, r.start_time DESC, r.id DESC;

-- Row-level security of device roles (migration 006): a device writes a run of its own device that
-- names one of its own jobs, or (job_id NULL) a repository one of its own jobs uses; a repository
-- named beside a job must be one its jobs use too (else a run row could point at any repository).
DROP POLICY device_own_insert ON runs;
CREATE POLICY device_own_insert ON runs FOR INSERT
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user))
        AND (repository_id IS NULL OR rbackup2_device_uses_repository(device_id, repository_id))
        AND (CASE WHEN job_id IS NULL THEN repository_id IS NOT NULL
             ELSE EXISTS (SELECT 1 FROM backup_jobs j WHERE j.id = runs.job_id AND j.device_id = runs.device_id) END)));
DROP POLICY device_own_update ON runs;
CREATE POLICY device_own_update ON runs FOR UPDATE
    USING ((SELECT rbackup2_role_device(current_user)) IS NULL OR device_id = (SELECT rbackup2_role_device(current_user)))
    WITH CHECK ((SELECT rbackup2_role_device(current_user)) IS NULL OR (
        device_id = (SELECT rbackup2_role_device(current_user))
        AND (job_id IS NOT NULL OR rbackup2_device_uses_repository(device_id, repository_id))));

-- Views obey the caller's policies (as in 006; CREATE OR REPLACE resets the view's options).
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 150000 THEN
        ALTER VIEW latest_runs SET (security_invoker = true);
        ALTER VIEW job_summary SET (security_invoker = true);
    END IF;
END
$$;
