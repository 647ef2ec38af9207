-- The catalogue: accounts, tokens, collections, versions, and the bookkeeping
-- that lets the clean-up pass find bytes that no committed version owns.

CREATE TABLE accounts (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    storage_quota    bigint NOT NULL DEFAULT 0 CHECK (storage_quota >= 0),   -- 0 = unlimited
    max_collections  bigint NOT NULL DEFAULT 0 CHECK (max_collections >= 0), -- 0 = unlimited
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Usage counters, maintained in the same transactions that add or remove
    -- versions, so that usage is never a scan.
    used_versions    bigint NOT NULL DEFAULT 0,
    used_size        bigint NOT NULL DEFAULT 0,
    used_stored_size bigint NOT NULL DEFAULT 0
);

-- Tokens are recorded at minting; the token text itself is never stored.
-- account_id is NULL for administrator tokens (sub = "system").
CREATE TABLE tokens (
    id                  uuid PRIMARY KEY,
    account_id          text REFERENCES accounts (id) ON DELETE CASCADE,
    permissions         text[] NOT NULL,
    collections         text[] NOT NULL DEFAULT '{}',
    allowed_ips         text[] NOT NULL DEFAULT '{}',
    allowed_user_agents text[] NOT NULL DEFAULT '{}',
    one_time_upload     boolean NOT NULL DEFAULT false,
    description         text NOT NULL DEFAULT '',
    created_by          text,  -- the minting token's id, or "cli" for cofferd token create
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    revoked_at          timestamptz,
    last_used_at        timestamptz
);
CREATE INDEX tokens_account_idx ON tokens (account_id);

CREATE TABLE collections (
    id                  text PRIMARY KEY,
    account_id          text NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    description         text NOT NULL DEFAULT '',
    filename            text NOT NULL,
    tags                text[] NOT NULL DEFAULT '{}',
    max_versions        bigint NOT NULL DEFAULT 0,
    max_version_size    bigint NOT NULL DEFAULT 0,
    max_collection_size bigint NOT NULL DEFAULT 0,
    strategy            text NOT NULL DEFAULT 'delete_oldest_when_adding_new'
                        CHECK (strategy IN ('delete_oldest_when_adding_new',
                                            'alert_when_too_many_versions', 'retention')),
    retention           jsonb,
    expected_interval   bigint,
    next_number         bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    used_versions       bigint NOT NULL DEFAULT 0,
    used_size           bigint NOT NULL DEFAULT 0,
    used_stored_size    bigint NOT NULL DEFAULT 0,
    last_version_at     timestamptz
);
CREATE INDEX collections_account_idx ON collections (account_id);

CREATE TABLE versions (
    id            uuid PRIMARY KEY,
    collection_id text NOT NULL REFERENCES collections (id) ON DELETE RESTRICT,
    number        bigint NOT NULL,
    size          bigint NOT NULL,
    stored_size   bigint NOT NULL,
    sha256        text NOT NULL,
    compression   text NOT NULL,
    storage_key   text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    uploaded_by   text,
    UNIQUE (collection_id, number)
);

-- An upload in progress: its bytes may exist in storage under storage_key
-- without a version row. The instance that owns it refreshes heartbeat_at; a
-- row whose heartbeat stopped belongs to a dead upload and the clean-up pass
-- removes its bytes, then the row.
CREATE TABLE pending_uploads (
    storage_key   text PRIMARY KEY,
    collection_id text NOT NULL,
    instance_id   uuid NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

-- Bytes whose version row is gone (deleted or rotated): rows go first, bytes
-- after, and this table remembers the bytes until they are removed.
CREATE TABLE doomed_objects (
    storage_key text PRIMARY KEY,
    doomed_at   timestamptz NOT NULL DEFAULT now()
);

-- Who did what: uploads, downloads, deletions, mints, revocations.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    token_id   uuid,
    account_id text,
    action     text NOT NULL,
    subject    text NOT NULL,
    client_ip  text
);

-- Times in the API are RFC 3339 in UTC with second precision.
CREATE FUNCTION coffer_time(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- Usage counters and doomed bytes follow every change of versions, whatever
-- code path makes it (upload, rotation, deletion, forced collection delete),
-- inside the same transaction: usage stays exact and no byte is forgotten.
CREATE FUNCTION versions_after_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE collections
       SET used_versions = used_versions + 1, used_size = used_size + NEW.size,
           used_stored_size = used_stored_size + NEW.stored_size,
           last_version_at = greatest(last_version_at, NEW.created_at)
     WHERE id = NEW.collection_id;
    UPDATE accounts
       SET used_versions = used_versions + 1, used_size = used_size + NEW.size,
           used_stored_size = used_stored_size + NEW.stored_size
     WHERE id = (SELECT account_id FROM collections WHERE id = NEW.collection_id);
    RETURN NULL;
END $$;

CREATE FUNCTION versions_after_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE collections
       SET used_versions = used_versions - 1, used_size = used_size - OLD.size,
           used_stored_size = used_stored_size - OLD.stored_size,
           last_version_at = (SELECT max(created_at) FROM versions WHERE collection_id = OLD.collection_id)
     WHERE id = OLD.collection_id;
    UPDATE accounts
       SET used_versions = used_versions - 1, used_size = used_size - OLD.size,
           used_stored_size = used_stored_size - OLD.stored_size
     WHERE id = (SELECT account_id FROM collections WHERE id = OLD.collection_id);
    INSERT INTO doomed_objects (storage_key) VALUES (OLD.storage_key) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER versions_counters_insert AFTER INSERT ON versions
    FOR EACH ROW EXECUTE FUNCTION versions_after_insert();
CREATE TRIGGER versions_counters_delete AFTER DELETE ON versions
    FOR EACH ROW EXECUTE FUNCTION versions_after_delete();
