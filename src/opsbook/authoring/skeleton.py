"""`opsbook new`: the skeleton of a runbook in the house style, whose steps fail until they are written.

The skeleton has the shape of `runbooks/incidents/worker-queue-backed-up.md`: a header, the
"You are here because" opening, a diagnose, a remediate and a verify step, what good output looks
like and what to do if each step fails, and what to post in the incident channel. Every step is
an honest placeholder that exits 1, so a skeleton never passes verification by doing nothing.
"""

from __future__ import annotations

import re

from opsbook.errors import UsageError
from opsbook.runbook.model import ALERT_NAME, FORMAT_VERSION
from opsbook.authoring.source import header_text, step_fence

ID_PART = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
"""Prometheus' metric and alert name syntax."""


def check_runbook_id(ref: str) -> str:
    """`incidents/db-down` as given, or UsageError: AREA/NAME with kebab-case parts."""
    parts = ref.split("/")
    if len(parts) < 2 or not all(ID_PART.match(part) for part in parts):
        raise UsageError(f"{ref!r} is not AREA/NAME: give the runbook's id, its path below runbooks/ "
                         "without .md, in lowercase kebab-case (e.g. incidents/db-down)")
    return ref


def check_alert_name(name: str) -> str:
    """A Prometheus alert name as given, or UsageError."""
    if not ALERT_NAME.match(name):
        raise UsageError(f"{name!r} is not a Prometheus alert name: letters, digits, `_` and `:`, "
                         "not starting with a digit (e.g. WorkerQueueBackedUp)")
    return name


def default_title(runbook_id: str) -> str:
    """`incidents/db-down` → `Db down`: a title to start from."""
    words = runbook_id.rsplit("/", 1)[-1].replace("-", " ")
    return words[:1].upper() + words[1:]


def _placeholder(what: str, example: str) -> str:
    """A step command that says what to write and fails until someone does."""
    lines = [f"# TODO: {what}"]
    lines += [f"#   {line}" for line in example.splitlines()]
    lines += [f'echo "TODO: {what.split(",")[0].split(":")[0]} (this placeholder always fails)" >&2', "exit 1"]
    return "\n".join(lines)


def skeleton_text(runbook_id: str, title: str, alerts: tuple[str, ...] = ()) -> str:
    """The text of a new runbook `runbook_id` (`AREA/NAME`) titled `title`, answering `alerts`."""
    fields: dict[str, object] = {
        "format": FORMAT_VERSION,
        "title": title,
        "summary": "TODO: one or two sentences: when to use this runbook and what it fixes.",
        "owner": "TODO",
        "severity": "SEV3",
        "services": [],
    }
    if alerts:
        fields["alerts"] = list(alerts)
    header = header_text(fields, comments=(
        "owner: the team or person who keeps this runbook correct",
        "services: the services its steps touch, e.g. [worker, redis]",
        "severity: SEV1 (everyone is affected) ... SEV4 (nobody notices yet)",
        "scenario: the sandbox fault `opsbook verify` injects before running it",
        "(`opsbook sandbox fault --list`), e.g.",
        "scenario: worker-stuck",
    ))
    fired = " and ".join(f"`{a}`" for a in alerts)
    opening = (f"**You are here because** {fired} fired: TODO: what users see, and what is and is not lost yet."
               if alerts else
               "**You are here because** TODO: the alert that fired or what someone reported; what users "
               "see, and what is and is not lost yet.")
    verify_alert = (f"\n\nThen check that {fired} resolved in Prometheus (`$PROMETHEUS_URL/alerts`)."
                    if alerts else "")
    confirm_step = step_fence(
        _placeholder("show the symptom, and exit 1 when it is not there, e.g.",
                     'depth=$(redis-cli -u "$REDIS_URL" --no-auth-warning LLEN jobs)\n'
                     'echo "queue depth: $depth"; [ "$depth" -gt 1000 ]'),
        "confirm-symptom", {"role": "diagnose", "timeout": 30})
    fix_step = step_fence(
        _placeholder("make the change, and wait until it took effect, e.g.", "$COMPOSE restart -t 10 worker"),
        "apply-fix", {"role": "remediate", "destructive": True, "timeout": 120})
    verify_step = step_fence(
        _placeholder("check the symptom is gone, and exit 1 while it is not, e.g.",
                     'depth=$(redis-cli -u "$REDIS_URL" --no-auth-warning LLEN jobs); [ "$depth" -lt 10 ]'),
        "confirm-fixed", {"role": "verify", "timeout": 30, "retry": {"attempts": 12, "delay": 5}})
    body = f"""
# {title}

{opening}

TODO: the usual cause and the usual fix, in two sentences, and when this runbook is the wrong one
(which runbook to follow instead).

Step through it with:

```console
$ opsbook run {runbook_id}
```

## 1. Confirm the symptom

TODO: why this step, in one sentence. It only reads; it changes nothing. It must fail on a
healthy system, so that verification proves it would have caught the problem.

{confirm_step}
Good output:

```text
TODO: what this step prints when the symptom is there
```

**If this step fails**, TODO: what it means (the symptom is gone, or the check cannot reach the
system) and what to do then.

## 2. Fix it

TODO: what this changes, what it loses (if anything), and what to note for the post-mortem.
It is marked `destructive`: outside the sandbox the operator types the target's name first.
If the change can go wrong, add a `role="rollback"` step after it.

{fix_step}
Good output:

```text
TODO: what this step prints when the change worked
```

**If this step fails**, TODO: what to look at first, and whom to escalate to.

## 3. Confirm it is fixed

TODO: how to tell the symptom is gone. Use `retry=` when it takes a while to clear.{verify_alert}

{verify_step}
Good output:

```text
TODO: what this step prints once the system is healthy again
```

**If this step fails** after all attempts, TODO: what it means and what to do next.

## Afterwards

Post in the incident channel: TODO: what step 1 found, what you changed and when (step 2), and
when it was confirmed fixed (step 3). The transcript `opsbook run` wrote under `.opsbook/runs/`
has all of it with timestamps.
"""
    return header + body
