"""Running a runbook: model → events.

What other wings use: `events` (the leaf every listener imports: StepStatus, RunStatus,
StepResult, RunResult, the event records, Listener), `runner` (run_runbook, RunOptions, Choice,
Prompt), `targets` (Target, load_target, SANDBOX), `redact` (Masker, mask_event) and `session`
(KernelSession). Nothing here imports the record, the sandbox driver or anything above.
"""
