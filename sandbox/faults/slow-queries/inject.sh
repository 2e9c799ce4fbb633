#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
ROWS=${ROWS:-1500000}
sql <<SQL
DROP INDEX IF EXISTS job_results_job_id_idx;
INSERT INTO job_results (job_id, kind, status, result, enqueued_at, finished_at)
SELECT md5(g::text)::uuid, 'history', 'succeeded', '{"imported": true}'::jsonb,
       now() - interval '30 days', now() - interval '30 days' + g * interval '1 second'
FROM generate_series(1, greatest(0, $ROWS - (SELECT count(*) FROM job_results))) AS g;
ANALYZE job_results;
SELECT pg_stat_statements_reset();
SQL
note "job_results: $(echo 'select count(*) from job_results' | sql) rows, index job_results_job_id_idx dropped"
