"""Verification: every runbook proved against the sandbox; JUnit XML and status.json.

What other wings use: `suite` (VerifyRequest, VerifySuite, run_verification, select: the one
lifecycle, for the CLI and the pytest plugin), `verifier` (Verifier, Reporter), `result`
(RunbookVerification), `shard` (Shard), `status` (status.json written and read, one schema)
and `junit`. `pytest_plugin` is the `pytest11` entry point.
"""
