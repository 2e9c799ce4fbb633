-- GET /api/agents shows each agent's last job: one max(finished_at) per listed agent. Without
-- this index each of those is a sequential scan of job_results (the slow-queries fault drops it).
CREATE INDEX job_results_agent_id_idx ON job_results (agent_id, finished_at);
