-- Default global settings (CONTRACTS §3). A device-specific row (device_id = the device) overrides
-- the global one. ON CONFLICT keeps values an admin set before this migration ran.
INSERT INTO settings (device_id, key, value, description) VALUES
    (NULL, 'sync_interval_seconds', '300', 'Seconds between config syncs when no change notification arrives'),
    (NULL, 'max_concurrent_backups', '1', 'Backups one agent runs at the same time'),
    (NULL, 'run_retention_days', '90', 'Days run records are kept'),
    (NULL, 'repository_url', '', 'restic repository of jobs without repository_id (RESTIC_REPOSITORY)'),
    (NULL, 'repository_password', '', 'Password of that repository (RESTIC_PASSWORD)'),
    (NULL, 'repository_cache_dir', '', 'restic cache folder (RESTIC_CACHE_DIR); empty = under the agent data folder'),
    (NULL, 'missed_run_grace_seconds', '300', 'A due time missed by less than this runs as a normal scheduled run'),
    (NULL, 'retry_delay_seconds', '600', 'Seconds before a failed scheduled backup is retried'),
    (NULL, 'retry_max_attempts', '3', 'Retries of a failed scheduled backup before waiting for the next due time'),
    (NULL, 'heartbeat_interval_seconds', '60', 'Seconds between device heartbeats (devices.last_seen)')
ON CONFLICT (key) WHERE device_id IS NULL DO NOTHING;
