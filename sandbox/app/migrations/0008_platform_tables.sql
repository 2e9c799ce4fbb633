-- The platform's other tables: organisations own agents and jobs; jobs are the history of
-- what the worker ran (job_results holds each attempt's outcome); crm_sync_log records every
-- push of a user to the CRM. Every index below is one of the recommendations of the database
-- guide (docs/database.md), which names the query each one serves; the test suite checks that
-- each exists and that its query's plan uses it.
CREATE TABLE organisations (
    id          bigserial PRIMARY KEY,
    slug        text        NOT NULL UNIQUE,
    name        text        NOT NULL,
    plan        text        NOT NULL DEFAULT 'free',
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE agents ADD COLUMN organisation_id bigint REFERENCES organisations (id);
-- An organisation's agents, newest first, a page at a time (keyset on id).
CREATE INDEX agents_organisation_id_idx ON agents (organisation_id, id);
-- Retired agents, oldest first, for the clean-up report: a partial index holds only them.
CREATE INDEX agents_retired_idx ON agents (created_at) WHERE status = 'retired';

CREATE TABLE jobs (
    id               uuid        PRIMARY KEY,
    organisation_id  bigint      NOT NULL REFERENCES organisations (id),
    agent_id         bigint,
    kind             text        NOT NULL,
    status           text        NOT NULL,
    attempts         integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
-- An organisation's jobs, newest first, a page at a time: keyset pagination on
-- (created_at, id) reads one index range per page, however deep the page.
CREATE INDEX jobs_organisation_created_idx ON jobs (organisation_id, created_at DESC, id DESC);
-- One agent's recent jobs.
CREATE INDEX jobs_agent_created_idx ON jobs (agent_id, created_at DESC);
-- Jobs still queued or running: a small partial index, however long the history grows.
CREATE INDEX jobs_open_idx ON jobs (created_at) WHERE status IN ('queued', 'running');
-- An organisation's latest failures.
CREATE INDEX jobs_failed_idx ON jobs (organisation_id, finished_at DESC) WHERE status = 'failed';
-- Analytics: jobs of one kind per day over a window.
CREATE INDEX jobs_kind_created_idx ON jobs (kind, created_at);
-- The latest jobs across every organisation (the operators' view).
CREATE INDEX jobs_created_at_idx ON jobs (created_at DESC);

-- Failed results of one kind (the CRM sync failures runbook counts them).
CREATE INDEX job_results_failed_idx ON job_results (kind, finished_at) WHERE status = 'failed';

-- Signups in the last hours (NoUserSignups, the business metrics runbook), and logins by
-- email regardless of case.
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE INDEX users_lower_email_idx ON users (lower(email));

CREATE TABLE crm_sync_log (
    id               bigserial   PRIMARY KEY,
    organisation_id  bigint      REFERENCES organisations (id),
    email            text        NOT NULL,
    outcome          text        NOT NULL,
    error            text,
    attempted_at     timestamptz NOT NULL DEFAULT now()
);
-- One user's sync history, latest first.
CREATE INDEX crm_sync_log_email_idx ON crm_sync_log (email, attempted_at DESC);
-- An organisation's sync log, a page at a time.
CREATE INDEX crm_sync_log_organisation_idx ON crm_sync_log (organisation_id, attempted_at DESC);
-- Recent failed syncs, across organisations.
CREATE INDEX crm_sync_log_failed_idx ON crm_sync_log (attempted_at) WHERE outcome = 'failed';
