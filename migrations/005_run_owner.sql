-- Issue 12 (field hardening).
-- Run owner (C33): who runs a `running` row: host name, process id and that process's start time.
-- At start an agent marks a run `interrupted` only when its owner is gone (same host and that PID
-- no longer runs with that start time); a live `rbackup2 backup` of the same device is left alone.
ALTER TABLE runs ADD COLUMN owner_host VARCHAR(255);
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
ALTER TABLE runs ADD COLUMN owner_started_at TIMESTAMPTZ;

-- Stable restic host of a job (C29): restic picks the parent snapshot by host and paths, so a
-- renamed computer would re-read every file. Recorded at the job's first backup (or set by the
-- admin); every backup passes it as --host. NULL = not recorded yet.
ALTER TABLE backup_jobs ADD COLUMN restic_host VARCHAR(255);

INSERT INTO settings (device_id, key, value, description) VALUES
    (NULL, 'stall_timeout_seconds', '1800', 'Seconds without restic progress before a backup is stopped as stalled (minimum 10)'),
    (NULL, 'backup_timeout_seconds', '0', 'Hard limit of one backup in seconds; 0 = none')
ON CONFLICT DO NOTHING;
