"""Runbook files → frozen model: the first stage of the flow.

What other wings use: `model` (Runbook, Step, StepOptions, Role, Param, VerifyCase),
`discover` (load_runbook, find_runbooks, resolve_runbook, runbook_files, id_root, project_root),
`options` (badge_facts, step_metadata) and `catalog` (filter_runbooks, search). `parse` is the
only place raw metadata is interpreted; nothing downstream reads it again.
"""
