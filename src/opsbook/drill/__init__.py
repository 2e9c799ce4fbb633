"""Incident drills on the sandbox: a fault injected, a person (or `--auto`) responding with the
runbooks, and the times to detect, to the first runbook step and to mitigate measured into a report.

`scenarios` (which faults the library's cases use, and the case that answers each), `records`
(the `opsbook run` records started since a moment), `watch` (observations of the sandbox → the
drill's timeline; pure), `report` (the report: JSON and Markdown), `session` (the lifecycle:
reset, inject, watch, heal).
"""
