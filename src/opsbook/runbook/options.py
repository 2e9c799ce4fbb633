"""Step options, in both directions: read from a fence's info string, written back as notebook
metadata, and turned into the badge facts the terminal and the site show.

Adding an option touches this module and `StepOptions` in the model, nothing else: the parser
calls `read_step_options`, the notebook writer `step_metadata`, and both renderers draw
`badge_facts`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsbook.runbook.model import Retry, Role, Step, StepOptions
from opsbook.runbook.variables import NAME as VARIABLE_NAME

STEP_KEYS = ("name", "timeout", "expect", "output", "not_output", "retry", "destructive", "ci",
             "targets", "role", "needs")
STEP_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RETRY_SHORT = re.compile(r"^\s*(\d+)\s*x\s*(\d+(?:\.\d+)?)\s*s?\s*$")

Report = Callable[[str, str], None]
"""Called with (message, hint) for every problem found in one fence's options."""


# --- small value readers (the header uses them too) -------------------------------------------


def positive_int(value: Any) -> int | None:
    """A whole number above zero (an integral float is accepted), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, float) and value > 0 and value.is_integer():
        return int(value)
    return None


def string_list(value: Any) -> tuple[str, ...] | None:
    """A name or a list of names, else None."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return tuple(str(v) for v in value)
    return None


def unknown_key_hint(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(known)}"


# --- reading: fence info string metadata → StepOptions ------------------------------------------


def read_step_options(meta: dict[str, Any], index: int, report: Report) -> tuple[StepOptions, str]:
    """The options and name of step `index` from its fence metadata (as jupytext reads it)."""
    meta = dict(meta)
    unreadable = "incorrectly_encoded_metadata" in meta
    if unreadable:
        bad = meta.pop("incorrectly_encoded_metadata")
        report(f"cannot read step options `{bad}`",
               'options are key=value with JSON values: quote text, e.g. name="restart-worker" role="remediate"')
    for key in meta:
        if key not in STEP_KEYS:
            report(f"unknown key `{key}` in step options", unknown_key_hint(key, STEP_KEYS))

    name = meta.get("name")
    if name is None:
        if not unreadable:  # an unreadable `name=x` was reported above
            report(f"step {index} has no name", f'add name="..." to the fence, e.g. ```bash name="check-health"')
        name = f"step-{index}"
    elif not isinstance(name, str) or not STEP_NAME.match(name):
        report(f"invalid step name {name!r}", 'use lowercase kebab-case, e.g. name="restart-worker"')
        name = str(name)

    kwargs: dict[str, Any] = {}
    if "timeout" in meta:
        timeout = positive_int(meta["timeout"])
        if timeout is None:
            report(f"`timeout` must be a positive number of seconds, not {meta['timeout']!r}", "write timeout=60")
        else:
            kwargs["timeout"] = timeout
    if "expect" in meta:
        expect = meta["expect"]
        if isinstance(expect, bool) or not isinstance(expect, int) or not 0 <= expect <= 255:
            report(f"`expect` must be an exit status 0-255, not {expect!r}", "write expect=1")
        else:
            kwargs["expect"] = expect
    for key in ("output", "not_output"):
        if key in meta:
            pattern = meta[key]
            if not isinstance(pattern, str) or not pattern:
                report(f"`{key}` must be a regular expression in quotes", f'write {key}="ok"')
                continue
            try:
                re.compile(pattern, re.MULTILINE)
            except re.error as exc:
                report(f"`{key}` is not a valid regular expression: {exc}",
                       "backslashes are JSON-escaped in the fence: write \\\\d for \\d")
                continue
            kwargs[key] = pattern
    if "retry" in meta:
        retry = read_retry(meta["retry"])
        if retry is None:
            report(f"cannot read `retry` {meta['retry']!r}",
                   'write retry={"attempts": 5, "delay": 10} or retry="5x10s" (5 attempts, 10 s apart)')
        else:
            kwargs["retry"] = retry
    if "destructive" in meta:
        destructive = meta["destructive"]
        if destructive is None:  # a bare `destructive` in the fence
            destructive = True
        if not isinstance(destructive, bool):
            report(f"`destructive` must be true or false, not {destructive!r}", "write destructive=true")
        else:
            kwargs["destructive"] = destructive
    if "ci" in meta:
        ci = meta["ci"]
        match = re.match(r"^(run|skip)\s*(?::\s*(.*))?$", ci.strip()) if isinstance(ci, str) else None
        if not match or (match.group(1) == "run" and match.group(2)):
            report(f"`ci` must be \"run\" or \"skip: <reason>\", not {ci!r}",
                   'write ci="skip: needs the production DNS" so readers know why CI does not run it')
        else:
            kwargs["ci"] = match.group(1)
            kwargs["ci_reason"] = (match.group(2) or "").strip()
    if "targets" in meta:
        targets = string_list(meta["targets"])
        if targets is None:
            report("`targets` must be a list of target names", 'write targets=["sandbox", "staging"]')
        else:
            kwargs["targets"] = targets
    if "role" in meta:
        try:
            kwargs["role"] = Role(meta["role"])
        except ValueError:
            report(f"unknown role {meta['role']!r}", f"use one of {', '.join(r.value for r in Role)}")
    if "needs" in meta:
        needs = read_needs(meta["needs"])
        if needs is None:
            report(f"`needs` must be a list of shell variable names, not {meta['needs']!r}",
                   'write needs=["PREVIOUS_VERSION", "DEPLOY_HEALTHY"]: the variables earlier steps set that this '
                   "step uses (letters, digits and _, not starting with a digit)")
        else:
            kwargs["needs"] = needs
    return StepOptions(**kwargs), str(name)


def read_needs(value: Any) -> tuple[str, ...] | None:
    """`["A", "B"]` → ("A", "B") (a repeated name once); anything but a list of variable names → None."""
    if not isinstance(value, list) or not all(isinstance(v, str) and VARIABLE_NAME.match(v) for v in value):
        return None
    return tuple(dict.fromkeys(value))


def read_retry(value: Any) -> Retry | None:
    """`"5x10s"` or `{"attempts": 5, "delay": 10}` → Retry(5, 10.0); anything else → None."""
    if isinstance(value, str):
        m = RETRY_SHORT.match(value)
        if m and int(m.group(1)) >= 1:
            return Retry(attempts=int(m.group(1)), delay=float(m.group(2)))
        return None
    if isinstance(value, dict) and set(value) <= {"attempts", "delay"}:
        attempts, delay = value.get("attempts"), value.get("delay", 0)
        if isinstance(attempts, int) and not isinstance(attempts, bool) and attempts >= 1 \
                and isinstance(delay, (int, float)) and not isinstance(delay, bool) and delay >= 0:
            return Retry(attempts=attempts, delay=float(delay))
    return None


# --- writing: StepOptions → notebook cell metadata ---------------------------------------------


def step_metadata(options: StepOptions, name: str) -> dict[str, Any]:
    """A step's options as cell metadata (the keys jupytext writes in the fence): only what differs
    from the defaults, so that reading it back gives the same options."""
    meta: dict[str, Any] = {"name": name}
    if options.timeout is not None:
        meta["timeout"] = options.timeout
    if options.expect != 0:
        meta["expect"] = options.expect
    if options.output is not None:
        meta["output"] = options.output
    if options.not_output is not None:
        meta["not_output"] = options.not_output
    if options.retry is not None:
        meta["retry"] = {"attempts": options.retry.attempts, "delay": options.retry.delay}
    if options.destructive:
        meta["destructive"] = True
    if options.ci != "run":
        meta["ci"] = f"{options.ci}: {options.ci_reason}" if options.ci_reason else options.ci
    if options.targets:
        meta["targets"] = list(options.targets)
    if options.role is not None:
        meta["role"] = options.role.value
    if options.needs:
        meta["needs"] = list(options.needs)
    return meta


# --- showing: StepOptions → badge facts --------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """One fact about a step shown beside its name: `kind` picks the look, `title` explains it."""

    kind: str  # "role-diagnose", "destructive", "timeout", "retry", "expect", "targets", "needs", "ci-skip"
    label: str
    title: str = ""


def badge_facts(step: Step, timeout: int) -> list[Badge]:
    """The badges of a step whose effective timeout is `timeout` seconds, in the order shown."""
    opts = step.options
    badges: list[Badge] = []
    if opts.role is not None:
        badges.append(Badge(f"role-{opts.role.value}", opts.role.value, "role"))
    if opts.destructive:
        badges.append(Badge("destructive", "destructive", "asks for typed confirmation outside the sandbox"))
    badges.append(Badge("timeout", f"timeout {timeout} s", "stopped after this long"))
    if opts.expect != 0:
        badges.append(Badge("expect", f"expects exit {opts.expect}"))
    if opts.retry is not None:
        badges.append(Badge("retry", f"retry {opts.retry.attempts}× every {opts.retry.delay:g} s"))
    if opts.targets:
        badges.append(Badge("targets", "targets: " + ", ".join(opts.targets)))
    if opts.needs:
        badges.append(Badge("needs", "needs " + ", ".join(f"${n}" for n in opts.needs),
                            "set by an earlier step: started here with --from or --step, give it with "
                            "--param NAME=VALUE or --state-from RECORD_DIR"))
    if opts.ci == "skip":
        reason = f": {opts.ci_reason}" if opts.ci_reason else ""
        badges.append(Badge("ci-skip", f"CI skips{reason}"))
    return badges

