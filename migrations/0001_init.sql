-- 0001_init.sql — the model registry: models, their versions, each version's
-- loss history, and aliases. Times are ISO-8601 UTC text with milliseconds.
-- The store's migration runner records each applied file in schema_migrations.

-- next_version is the number the next version gets; it only grows, so a
-- deleted version's number is never given again.
CREATE TABLE models (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    next_version INTEGER NOT NULL DEFAULT 1 CHECK (next_version >= 1),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);

-- spec is the version's JSON (architecture, hyperparameters, seed,
-- normalisation, labels, training summary), opaque to the store; params is
-- the core's serialised network, kept last so that reading the other
-- columns never walks its overflow pages.
CREATE TABLE versions (
    id          INTEGER PRIMARY KEY,
    model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL CHECK (number >= 1),
    created_at  TEXT    NOT NULL,
    epochs_run  INTEGER NOT NULL DEFAULT 0 CHECK (epochs_run >= 0),
    loss        REAL,
    val_loss    REAL,
    duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    row_count   INTEGER NOT NULL DEFAULT 0 CHECK (row_count >= 0),
    spec        TEXT    NOT NULL,
    params      BLOB    NOT NULL,
    UNIQUE (model_id, number)
);

-- One row per epoch of the training that made a version.
CREATE TABLE loss_history (
    model_id INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    epoch    INTEGER NOT NULL CHECK (epoch >= 0),
    loss     REAL,
    val_loss REAL,
    PRIMARY KEY (model_id, version, epoch),
    FOREIGN KEY (model_id, version) REFERENCES versions(model_id, number) ON DELETE CASCADE
) WITHOUT ROWID;

-- A movable name for a version; it goes when its version goes. "latest" is
-- computed, never stored.
CREATE TABLE aliases (
    model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    alias      TEXT    NOT NULL CHECK (alias <> 'latest'),
    version    INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES versions(model_id, number) ON DELETE CASCADE
);
CREATE INDEX aliases_by_version ON aliases(model_id, version);
