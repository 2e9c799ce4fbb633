"""The sandbox app: the platform's web API contract (health, agents, jobs, metrics)."""
