"""Writing runbooks: a skeleton in the house style (`opsbook new`) and existing Markdown collections
converted (`opsbook import`); everything written is read back by `opsbook.runbook` unchanged.

What other wings use: `skeleton` (skeleton_text), `importer` (plan_import, write_import),
`source` (header_text, step_fence: the syntax parse reads).
"""
