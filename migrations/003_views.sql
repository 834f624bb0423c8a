-- Views for admins and dashboards (CONTRACTS §3).

-- The latest run of each job (by start_time, then id).
CREATE VIEW latest_runs AS
SELECT DISTINCT ON (r.job_id) r.*
FROM runs r
ORDER BY r.job_id, r.start_time DESC, r.id DESC;

-- One row per job and schedule (a job without a schedule gives one row with NULL schedule
-- columns), with the job's latest run.
CREATE VIEW job_summary AS
SELECT
    j.id                 AS job_id,
    j.device_id,
    d.name               AS device_name,
    j.name               AS job_name,
    j.enabled            AS job_enabled,
    j.source_paths,
    j.repository_id,
    s.id                 AS schedule_id,
    s.schedule_type,
    s.cron_expression,
    s.interval_seconds,
    s.timezone,
    s.catch_up,
    s.enabled            AS schedule_enabled,
    s.last_run_at,
    s.next_run_at,
    lr.id                AS last_run_id,
    lr.status            AS last_run_status,
    lr.start_time        AS last_run_start_time,
    lr.end_time          AS last_run_end_time,
    lr.snapshot_id       AS last_snapshot_id,
    lr.error_message     AS last_error_message
FROM backup_jobs j
JOIN devices d ON d.id = j.device_id
LEFT JOIN schedules s ON s.job_id = j.id
LEFT JOIN latest_runs lr ON lr.job_id = j.id;
