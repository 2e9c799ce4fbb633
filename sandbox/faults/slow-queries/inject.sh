#!/usr/bin/env bash
# Drop the index the agents listing needs: job_results holds the sandbox's year of history
# (sandbox/app/seed/platform.sql), so each listed agent's lookup becomes a sequential scan.
source "$(dirname "$0")/../lib.sh"
sql <<'SQL'
DROP INDEX IF EXISTS job_results_agent_id_idx;
SELECT pg_stat_statements_reset();
SQL
note "job_results: $(echo "select count(*) from job_results" | sql) rows, index job_results_agent_id_idx dropped"
