#!/usr/bin/env bash
# Recreate the index (the remediation), then drop the history rows the fault added.
source "$(dirname "$0")/../lib.sh"
sql <<'SQL'
CREATE INDEX IF NOT EXISTS job_results_job_id_idx ON job_results (job_id);
DELETE FROM job_results WHERE kind = 'history';
SELECT pg_stat_statements_reset();
SQL
note "index job_results_job_id_idx recreated"
