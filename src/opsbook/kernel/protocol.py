"""The contract between the opsbook kernel and the runner that drives it; both sides import it.

The kernel is named `opsbook-bash`. It reads its settings from environment variables set by
whoever starts it, and answers every execute request with `content["opsbook"]` holding the
keys below; a custom shell message asks for the portable shell state.
"""

from __future__ import annotations

from typing import Any

KERNEL_NAME = "opsbook-bash"
DISPLAY_NAME = "opsbook (bash)"
LANGUAGE = "bash"
"""The fence language of a step for this kernel (```bash)."""


def kernelspec_metadata() -> dict[str, Any]:
    """The `kernelspec` a runbook header and an executed notebook name."""
    return {"name": KERNEL_NAME, "display_name": DISPLAY_NAME, "language": LANGUAGE}


# Environment variables the kernel reads when it starts.
OUTPUT_CAP_VAR = "OPSBOOK_OUTPUT_CAP"
"""Bytes of stdout, and separately of stderr, that one step may show."""
KILL_GRACE_VAR = "OPSBOOK_KILL_GRACE"
"""Seconds between interrupting a step's process group and killing it."""
SECRET_NAMES_VAR = "OPSBOOK_SECRET_NAMES"
"""Comma-separated names of variables that never leave the kernel in a saved state."""
RESTORE_STATE_VAR = "OPSBOOK_RESTORE_STATE"
"""A state file saved by an earlier run: the session starts from it (resume)."""

STEP_ID_VAR = "OPSBOOK_STEP_ID"
"""Set by the kernel in each step's environment: processes that carry it belong to that step."""

# The execute reply: content[REPLY_KEY] holds these keys.
REPLY_KEY = "opsbook"
REPLY_EXIT_STATUS = "exit_status"  # int, or None when bash was ended by a signal
REPLY_SIGNAL = "signal"
REPLY_INTERRUPTED = "interrupted"
REPLY_KILLED = "killed"
REPLY_TRUNCATED = "truncated"
REPLY_STATE_SAVED = "state_saved"
REPLY_DURATION = "duration"
REPLY_STATE = "state"  # the portable state after this step, secrets left out (None if not saved)
REPLY_VARIABLES = "variables"
"""The plain variables the steps changed, as of the end of this step: {NAME: {"value": TEXT,
"exported": BOOL}}, secret names left out (the runner withholds values that hold a secret);
None if the state was not saved."""

# Asking for the portable state outside an execute request.
STATE_REQUEST = "opsbook_state_request"  # content: {"secret_names": [...]}
STATE_REPLY = "opsbook_state_reply"  # content: {"status": "ok", "state": TEXT} or an error
