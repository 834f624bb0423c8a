-- rbackup2 initial schema (CONTRACTS §3). Runs unchanged on PostgreSQL >= 13 and on PGlite.
-- Names are a contract with fleet admins who write SQL against these tables: never rename or drop.
-- All timestamps are TIMESTAMPTZ. gen_random_uuid() is built in since PostgreSQL 13 (and PGlite).

CREATE TABLE devices (
    id          VARCHAR(255) PRIMARY KEY,          -- the local config's device.id (a Relica origin UUID is fine)
    name        VARCHAR(255) NOT NULL,
    description TEXT,
    platform    VARCHAR(64),                       -- process.platform: linux, win32, darwin
    hostname    VARCHAR(255),
    last_seen   TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    enabled     BOOLEAN NOT NULL DEFAULT true,
    metadata    JSONB NOT NULL DEFAULT '{}'::jsonb
);

-- Optional per-job restic repositories; a job with repository_id NULL uses the repository_* settings.
CREATE TABLE repositories (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name             VARCHAR(255) NOT NULL UNIQUE,
    url              TEXT NOT NULL,                -- RESTIC_REPOSITORY
    password         TEXT,                         -- RESTIC_PASSWORD (never logged)
    password_file    TEXT,                         -- RESTIC_PASSWORD_FILE
    password_command TEXT,                         -- RESTIC_PASSWORD_COMMAND
    cache_dir        TEXT,                         -- RESTIC_CACHE_DIR
    env              JSONB NOT NULL DEFAULT '{}'::jsonb,  -- extra environment, e.g. AWS_ACCESS_KEY_ID
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE backup_jobs (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),   -- Relica's backup UUID when imported
    device_id        VARCHAR(255) NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    name             VARCHAR(255) NOT NULL,
    description      TEXT,
    source_paths     TEXT[] NOT NULL,
    exclude_patterns TEXT[] NOT NULL DEFAULT '{}',
    tags             TEXT[] NOT NULL DEFAULT '{}',
    restic_args      JSONB NOT NULL DEFAULT '[]'::jsonb,           -- JSON array of strings, one argv entry each
    -- RESTRICT: deleting a repository still used by a job is refused (a job must never silently
    -- fall back to another repository).
    repository_id    UUID NULL REFERENCES repositories(id) ON DELETE RESTRICT,
    enabled          BOOLEAN NOT NULL DEFAULT true,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    metadata         JSONB NOT NULL DEFAULT '{}'::jsonb,
    origin_name      VARCHAR(255),                 -- Relica origin name (snapshot tag origin=...)
    origin_id        UUID,
    account_id       UUID,                         -- Relica account (snapshot tag account_id=...)
    UNIQUE (device_id, name)
);

CREATE TABLE schedules (
    id               SERIAL PRIMARY KEY,
    job_id           UUID NOT NULL REFERENCES backup_jobs(id) ON DELETE CASCADE,
    schedule_type    VARCHAR(16) NOT NULL CHECK (schedule_type IN ('cron', 'interval')),
    cron_expression  VARCHAR(255),                 -- 5 fields, or 6 with seconds first (croner syntax)
    interval_seconds INTEGER,                      -- validated by the agent (> 0), see loadDeviceConfig
    timezone         VARCHAR(64),                  -- IANA name; NULL = the device's local zone
    catch_up         BOOLEAN NOT NULL DEFAULT true,  -- Relica "flexible": one run after a missed due time
    enabled          BOOLEAN NOT NULL DEFAULT true,
    last_run_at      TIMESTAMPTZ,
    next_run_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    metadata         JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX schedules_job_id_idx ON schedules (job_id);

-- Run history. job_id and device_id deliberately have no foreign key: history outlives a deleted
-- job or device, and a run recorded locally while the database was down can always be written later.
CREATE TABLE runs (
    id                    SERIAL PRIMARY KEY,
    job_id                UUID NOT NULL,
    device_id             VARCHAR(255) NOT NULL,
    start_time            TIMESTAMPTZ NOT NULL,
    end_time              TIMESTAMPTZ,
    status                VARCHAR(16) NOT NULL DEFAULT 'running'
                          CHECK (status IN ('running', 'success', 'partial', 'failed', 'cancelled', 'interrupted')),
    exit_code             INTEGER,
    error_message         TEXT,
    files_new             BIGINT,
    files_changed         BIGINT,
    files_unmodified      BIGINT,
    dirs_new              BIGINT,
    dirs_changed          BIGINT,
    dirs_unmodified       BIGINT,
    data_added_bytes      BIGINT,
    total_files_processed BIGINT,
    total_bytes_processed BIGINT,
    duration_seconds      DOUBLE PRECISION,
    snapshot_id           VARCHAR(64),             -- 8-hex short id (restic 0.14) or 64 hex; NULL when none
    restic_output         TEXT,
    restic_errors         TEXT,
    triggered_by          VARCHAR(16) NOT NULL DEFAULT 'schedule'
                          CHECK (triggered_by IN ('schedule', 'manual', 'missed')),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    metadata              JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- Added (not in the original design): the agent's own id for a run, so a run recorded locally
    -- while the database was down is written exactly once when it returns.
    client_run_id         UUID UNIQUE
);
CREATE INDEX runs_job_id_start_time_idx ON runs (job_id, start_time DESC);
CREATE INDEX runs_device_id_start_time_idx ON runs (device_id, start_time);
CREATE INDEX runs_running_idx ON runs (device_id) WHERE status = 'running';

CREATE TABLE settings (
    id          SERIAL PRIMARY KEY,
    device_id   VARCHAR(255) NULL REFERENCES devices(id) ON DELETE CASCADE,   -- NULL = global
    key         VARCHAR(255) NOT NULL,
    value       TEXT NOT NULL DEFAULT '',
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- At most one global value per key, and at most one value per (device, key).
CREATE UNIQUE INDEX settings_global_key_uq ON settings (key) WHERE device_id IS NULL;
CREATE UNIQUE INDEX settings_device_key_uq ON settings (device_id, key) WHERE device_id IS NOT NULL;

CREATE TABLE backup_hooks (
    id       SERIAL PRIMARY KEY,
    job_id   UUID NOT NULL REFERENCES backup_jobs(id) ON DELETE CASCADE,
    command  TEXT NOT NULL,                        -- run through the system shell as written
    timing   VARCHAR(8) NOT NULL CHECK (timing IN ('start', 'end')),
    on_error VARCHAR(8) NOT NULL DEFAULT 'continue' CHECK (on_error IN ('stop', 'continue')),
    enabled  BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX backup_hooks_job_id_idx ON backup_hooks (job_id);
