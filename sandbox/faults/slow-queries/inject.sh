#!/usr/bin/env bash
# Drop the index first: loading the history is then cheaper (one index fewer to maintain).
source "$(dirname "$0")/../lib.sh"
ROWS=${ROWS:-300000}
sql <<SQL
DROP INDEX IF EXISTS job_results_agent_id_idx;
INSERT INTO agents (name, owner, created_at)
SELECT 'imported-' || g, 'history-import', now() - interval '90 days'
FROM generate_series(1, greatest(0, 100 - (SELECT count(*) FROM agents WHERE owner = 'history-import'))) AS g;
INSERT INTO job_results (job_id, agent_id, kind, status, result, enqueued_at, finished_at)
SELECT lpad(to_hex(g), 32, 'e')::uuid, imported.ids[1 + g % cardinality(imported.ids)], 'history', 'succeeded',
       '{"imported": true}'::jsonb, now() - interval '30 days', now() - interval '30 days' + g * interval '10 seconds'
FROM (SELECT array_agg(id) AS ids FROM agents WHERE owner = 'history-import') AS imported,
     generate_series(1, greatest(0, $ROWS - (SELECT count(*) FROM job_results WHERE kind = 'history'))) AS g;
ANALYZE job_results;
SELECT pg_stat_statements_reset();
SQL
note "job_results: $(echo "select count(*) from job_results" | sql) rows, index job_results_agent_id_idx dropped"
