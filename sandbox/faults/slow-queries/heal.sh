#!/usr/bin/env bash
# Recreate the index (the remediation).
source "$(dirname "$0")/../lib.sh"
sql <<'SQL'
CREATE INDEX IF NOT EXISTS job_results_agent_id_idx ON job_results (agent_id, finished_at);
ANALYZE job_results;
SELECT pg_stat_statements_reset();
SQL
note "index job_results_agent_id_idx recreated"
