-- stockroute, the ops console's tables (console/, docs/console.md): a node's
-- status changes with their reasons, acknowledged alerts, the operators'
-- audit log, and the webhook secrets of the nodes, sealed by the console
-- under a key that never enters the database.  Their functions are in
-- sql/80_console.sql.  A "create 0.2.0" part (sql/manifest).
--
-- Every "who" column is filled by its default, CURRENT_USER evaluated as the
-- role that writes the row; create_roles() (sql/90_security.sql) lets the
-- roles insert every column but that one, so no role can write a row in
-- another role's name.

-- Node status with a reason -------------------------------------------------------

CREATE TABLE stockroute.node_status_change (
    change_id       uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    node_id         text NOT NULL REFERENCES stockroute.node ON UPDATE CASCADE ON DELETE CASCADE,
    old_status      text NOT NULL,
    new_status      text NOT NULL CHECK (new_status IN ('active', 'offline', 'draining')),
    reason          text NOT NULL CHECK (reason <> '' AND pg_catalog.octet_length(reason) <= 1000),
    changed_by      text NOT NULL DEFAULT CURRENT_USER,
    changed_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE INDEX node_status_change_node_idx ON stockroute.node_status_change (node_id, changed_at);

COMMENT ON TABLE stockroute.node_status_change IS
    'Each change of a node''s status made by set_node_status(): from, to, why, who and when';
COMMENT ON COLUMN stockroute.node_status_change.old_status IS 'the node''s status before the change';
COMMENT ON COLUMN stockroute.node_status_change.new_status IS 'the status set: active, draining or offline';
COMMENT ON COLUMN stockroute.node_status_change.reason IS 'why the status changed, as the operator said (at most 1000 bytes)';
COMMENT ON COLUMN stockroute.node_status_change.changed_by IS 'the role that changed it (its default, CURRENT_USER, which no caller may set)';

-- Acknowledging alerts -----------------------------------------------------------

CREATE TABLE stockroute.alert_ack (
    alert_id        uuid PRIMARY KEY REFERENCES stockroute.alert ON DELETE CASCADE,
    note            text CHECK (pg_catalog.octet_length(note) <= 1000),
    acknowledged_by text NOT NULL DEFAULT CURRENT_USER,
    acknowledged_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE stockroute.alert_ack IS
    'An operator has seen an open alert and taken it on: who, when, with what note. The alert stays open until its condition clears (or resolve_alert() for drift)';
COMMENT ON COLUMN stockroute.alert_ack.note IS 'what the operator said on taking the alert on (at most 1000 bytes)';
COMMENT ON COLUMN stockroute.alert_ack.acknowledged_by IS
    'the role that acknowledged it (its default, CURRENT_USER, which no caller may set)';

-- Interventions ------------------------------------------------------------------

CREATE TABLE stockroute.intervention (
    intervention_id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    action          text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]{0,63}$'),
    args            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(args) = 'object'),
    ok              boolean NOT NULL,
    result          jsonb,
    sqlstate        text CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    error           text CHECK (pg_catalog.octet_length(error) <= 4000),
    actor           text CHECK (pg_catalog.octet_length(actor) <= 256),
    db_role         text NOT NULL DEFAULT CURRENT_USER,
    recorded_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    CHECK (ok = (error IS NULL))
);

CREATE INDEX intervention_recorded_idx ON stockroute.intervention (recorded_at);

COMMENT ON TABLE stockroute.intervention IS
    'Audit log of what operators did through a tool such as the ops console: action, arguments, result or error, who and when; rows are only ever added';
COMMENT ON COLUMN stockroute.intervention.action IS
    'what was done, a lower-case word: set_node_status, commit, release, reject, reconcile, acknowledge_alert, ...';
COMMENT ON COLUMN stockroute.intervention.args IS 'the arguments it was called with, by name';
COMMENT ON COLUMN stockroute.intervention.ok IS 'whether it succeeded; a refused or failed one has sqlstate and error';
COMMENT ON COLUMN stockroute.intervention.result IS 'what the call returned, when it succeeded';
COMMENT ON COLUMN stockroute.intervention.sqlstate IS 'the SQLSTATE it was refused or failed with';
COMMENT ON COLUMN stockroute.intervention.error IS 'the error message it was refused or failed with (at most 4000 bytes); NULL exactly when ok';
COMMENT ON COLUMN stockroute.intervention.actor IS
    'who, as the tool knows them (the console: its operator name and the client address); not checked';
COMMENT ON COLUMN stockroute.intervention.db_role IS
    'the database role that recorded it (its default, CURRENT_USER, which no caller may set)';

-- Webhook secrets ------------------------------------------------------------------

CREATE TABLE stockroute.node_secret (
    node_id         text PRIMARY KEY REFERENCES stockroute.node ON UPDATE CASCADE ON DELETE CASCADE,
    sealed          bytea NOT NULL CHECK (pg_catalog.octet_length(sealed) BETWEEN 30 AND 1024),
    key_id          text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    set_by          text NOT NULL DEFAULT CURRENT_USER,
    set_at          timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE stockroute.node_secret IS
    'The secret a node signs its webhook batches with, sealed (AES-GCM) by the console under a key kept outside the database: neither a read nor a dump reveals it';
COMMENT ON COLUMN stockroute.node_secret.sealed IS
    'the sealed secret, opaque to the database: a format byte, the nonce, the ciphertext and its tag';
COMMENT ON COLUMN stockroute.node_secret.key_id IS
    'which key sealed it: the first 16 hex digits of the SHA-256 of the key';
COMMENT ON COLUMN stockroute.node_secret.set_by IS
    'the role that set it (its default, CURRENT_USER, which no caller may set)';

-- pg_dump keeps them (a node_secret row holds only the sealed secret)
SELECT pg_catalog.pg_extension_config_dump('stockroute.node_status_change', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.alert_ack', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.intervention', '');
SELECT pg_catalog.pg_extension_config_dump('stockroute.node_secret', '');
