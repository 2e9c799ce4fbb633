-- Results the worker writes for each job it takes off the Redis queue.
CREATE TABLE job_results (
    id           bigserial PRIMARY KEY,
    job_id       uuid        NOT NULL,
    agent_id     bigint,
    kind         text        NOT NULL,
    status       text        NOT NULL,
    result       jsonb,
    enqueued_at  timestamptz,
    finished_at  timestamptz NOT NULL DEFAULT now()
);
-- GET /api/jobs/{id} looks results up by job_id: without this index every lookup is a
-- sequential scan (the slow-queries fault drops it).
CREATE INDEX job_results_job_id_idx ON job_results (job_id);
