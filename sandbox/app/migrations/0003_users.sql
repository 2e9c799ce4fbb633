-- Users who signed up (POST /api/signups); the worker pushes each one to the CRM (crm_sync jobs).
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
