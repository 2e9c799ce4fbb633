-- The sandbox's volume: a platform a year into production. Deterministic (no random()):
-- the same rows every time, so a plan or a timing differs only when the schema does.
-- Generated once per sandbox and per version of this file and the migrations; every reset
-- loads the saved copy (opsbook.sandbox.seed), which takes a fraction of generating it.
-- Sizes: enough that a missing index turns the agents listing into seconds of sequential
-- scans of job_results, small enough that a reset loads it in about 2 s.
INSERT INTO organisations (slug, name, plan, created_at)
SELECT format('org-%s', lpad(g::text, 4, '0')), format('Organisation %s', g),
       (ARRAY['free', 'team', 'team', 'enterprise'])[1 + g % 4],
       now() - interval '400 days' + g * interval '9 hours'
FROM generate_series(1, 1000) AS g;

INSERT INTO agents (name, owner, status, organisation_id, created_at)
SELECT format('agent-%s', lpad(g::text, 5, '0')), format('org-%s', lpad((1 + g % 200)::text, 4, '0')),
       CASE WHEN g % 20 = 0 THEN 'retired' WHEN g % 7 = 0 THEN 'paused' ELSE 'active' END,
       1 + g % 200, now() - interval '365 days' + g * interval '4 hours'
FROM generate_series(1, 2000) AS g;

INSERT INTO jobs (id, organisation_id, agent_id, kind, status, attempts, created_at, finished_at)
SELECT md5('job-' || g)::uuid, 1 + (g % 2000) % 200, 1 + g % 2000,
       (ARRAY['echo', 'crm_sync', 'report', 'export'])[1 + g % 4],
       CASE WHEN g % 97 = 0 THEN 'failed' WHEN g > 99900 THEN 'queued' ELSE 'succeeded' END,
       1 + g % 3, created, CASE WHEN g > 99900 THEN NULL ELSE created + interval '2 seconds' END
FROM generate_series(1, 100000) AS g,
     LATERAL (SELECT now() - interval '90 days' + g * interval '77 seconds' AS created) AS t;

-- Three attempts' results per job, all finished before the last day (live traffic adds its own).
INSERT INTO job_results (job_id, agent_id, kind, status, result, enqueued_at, finished_at)
SELECT j.id, j.agent_id, j.kind, CASE WHEN j.status = 'failed' AND a = 3 THEN 'failed' ELSE 'succeeded' END,
       jsonb_build_object('attempt', a), j.created_at, least(j.created_at + a * interval '1 second', now() - interval '1 day')
FROM jobs j, generate_series(1, 3) AS a
WHERE j.finished_at IS NOT NULL;

INSERT INTO users (email, created_at)
SELECT format('member-%s@example.org', lpad(g::text, 5, '0')), now() - interval '400 days' + g * interval '26 minutes'
FROM generate_series(1, 20000) AS g;

INSERT INTO crm_sync_log (organisation_id, email, outcome, error, attempted_at)
SELECT 1 + g % 200, format('member-%s@example.org', lpad((1 + g % 20000)::text, 5, '0')),
       CASE WHEN g % 31 = 0 THEN 'failed' ELSE 'synced' END,
       CASE WHEN g % 31 = 0 THEN 'CRM answered 503' END,
       now() - interval '180 days' + g * interval '5 minutes'
FROM generate_series(1, 50000) AS g;
