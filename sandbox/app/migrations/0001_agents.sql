-- Agents: the small domain the API manages.
CREATE TABLE agents (
    id          bigserial PRIMARY KEY,
    name        text        NOT NULL,
    owner       text        NOT NULL DEFAULT 'platform',
    status      text        NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_owner_idx ON agents (owner);
