-- 0002_jobs_datasets.sql — training jobs and uploaded datasets.

-- A job names its model by text: the model may not exist yet, and the job's
-- record outlives a deleted model. AUTOINCREMENT: ids are never reused.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    model       TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    request     TEXT    NOT NULL,
    epoch       INTEGER NOT NULL DEFAULT 0,
    epochs      INTEGER NOT NULL DEFAULT 0,
    loss        REAL,
    val_loss    REAL,
    version     INTEGER,
    error       TEXT,
    created_at  TEXT    NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX jobs_by_status ON jobs(status, id);

-- Rows as row-major float32 blobs (inputs, then targets), kept last so that
-- listing metadata never reads them.
CREATE TABLE datasets (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    row_count    INTEGER NOT NULL CHECK (row_count >= 1),
    n_inputs     INTEGER NOT NULL CHECK (n_inputs >= 1),
    n_targets    INTEGER NOT NULL CHECK (n_targets >= 1),
    columns      TEXT    NOT NULL,
    target_names TEXT    NOT NULL,
    labels       TEXT,
    created_at   TEXT    NOT NULL,
    inputs       BLOB    NOT NULL,
    targets      BLOB    NOT NULL
);
