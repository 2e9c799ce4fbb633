"""JUnit XML from verification results: one testsuite per runbook, one testcase per step.

Checks that verification adds around the steps (scenario injected, diagnosis detects it,
alerts fire, the steps within the case's `within:` limit, sandbox healthy again, alerts
resolved) are testcases too, so a CI page shows exactly which condition failed; each case's
measured step time and limit are properties of its suite. Outputs are already masked; this writer only makes them
safe for XML (ANSI escapes and characters XML 1.0 forbids are removed).
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from opsbook.run.events import StepResult, StepStatus
from opsbook.text import parse_time, strip_ansi, write_atomically
from opsbook.verify.result import CaseResult, Check, Phase, RunbookVerification

_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text as XML 1.0 can carry it: terminal escapes and forbidden characters removed."""
    return _NOT_XML.sub("", strip_ansi(text))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _timestamp(iso: str) -> str:
    # The JUnit schema's timestamp has no zone and no fraction; ours are always UTC.
    try:
        return parse_time(iso).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return iso


def _classname(verification: RunbookVerification, case: CaseResult) -> str:
    base = verification.runbook_id.replace("/", ".")
    return f"{base}[{case.case}]" if len(verification.cases) > 1 else base


class _Counts:
    def __init__(self) -> None:
        self.tests = self.failures = self.errors = self.skipped = 0
        self.time = 0.0


def _check_case(parent: ET.Element, classname: str, check: Check, counts: _Counts) -> None:
    el = ET.SubElement(
        parent, "testcase", name=xml_text(check.name), classname=classname, time=f"{check.duration:.3f}"
    )
    counts.tests += 1
    counts.time += check.duration
    if not check.passed:
        counts.failures += 1
        body = check.message + (f"\n\n{check.detail}" if check.detail else "")
        failure = ET.SubElement(
            el, "failure", message=xml_text(_first_line(check.message)), type="verification"
        )
        failure.text = xml_text(body)
    elif check.detail:
        ET.SubElement(el, "system-out").text = xml_text(check.detail)


def _step_case(
    parent: ET.Element,
    classname: str,
    case: CaseResult,
    step: StepResult,
    path: str,
    counts: _Counts,
) -> None:
    el = ET.SubElement(
        parent,
        "testcase",
        name=xml_text(step.name),
        classname=classname,
        time=f"{step.duration:.3f}",
        file=path,
    )
    counts.tests += 1
    counts.time += step.duration
    if step.status in (StepStatus.FAILED, StepStatus.TIMED_OUT):
        counts.failures += 1
        failed = case.run.failed_step if case.run is not None else None
        explained = case.step_failure if failed is not None and failed.index == step.index else ""
        message = explained or (
            f"step {step.name!r} {step.status.value}: {step.reason or f'exit status {step.exit_status}'}"
        )
        kind = "timeout" if step.status is StepStatus.TIMED_OUT else (
            f"exit status {step.exit_status}" if step.exit_status is not None else "failed"
        )
        failure = ET.SubElement(el, "failure", message=xml_text(_first_line(message)), type=kind)
        failure.text = xml_text(f"{message}\n\ncommand:\n{step.command}")
    elif step.status is StepStatus.INTERRUPTED:
        counts.errors += 1
        error = ET.SubElement(
            el, "error", message=xml_text(step.reason or "interrupted"), type="interrupted"
        )
        error.text = xml_text(f"command:\n{step.command}")
    elif step.status is StepStatus.SKIPPED:
        counts.skipped += 1
        ET.SubElement(el, "skipped", message=xml_text(step.reason or "skipped"))
    elif step.status is StepStatus.NOT_RUN:
        counts.skipped += 1
        ET.SubElement(
            el, "skipped", message=xml_text("not run: " + (step.reason or "an earlier step failed"))
        )
    if step.stdout:
        ET.SubElement(el, "system-out").text = xml_text(step.stdout)
    if step.stderr:
        ET.SubElement(el, "system-err").text = xml_text(step.stderr)


def _suite(verification: RunbookVerification, hostname: str) -> ET.Element:
    suite = ET.Element(
        "testsuite",
        name=verification.runbook_id,
        timestamp=_timestamp(verification.started_at),
        hostname=hostname,
        file=verification.path,
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="title", value=xml_text(verification.title))
    ET.SubElement(props, "property", name="path", value=verification.path)
    if verification.commit:
        ET.SubElement(props, "property", name="commit", value=verification.commit)
    counts = _Counts()
    for case in verification.cases:
        classname = _classname(verification, case)
        ET.SubElement(props, "property", name=f"case:{case.case}:scenario", value=case.scenario or "")
        if case.steps_duration is not None:
            ET.SubElement(props, "property", name=f"case:{case.case}:steps_duration",
                          value=f"{case.steps_duration:.3f}")
        if case.within is not None:
            ET.SubElement(props, "property", name=f"case:{case.case}:within", value=f"{case.within:g}")
        for check in case.checks:
            if check.phase is Phase.BEFORE:
                _check_case(suite, classname, check, counts)
        if case.error:
            el = ET.SubElement(suite, "testcase", name="verification", classname=classname, time="0.000")
            counts.tests += 1
            counts.errors += 1
            ET.SubElement(el, "error", message=xml_text(_first_line(case.error)), type="error").text = (
                xml_text(case.error)
            )
        for step in case.steps:
            _step_case(suite, classname, case, step, verification.path, counts)
        for check in case.checks:
            if check.phase is Phase.AFTER:
                _check_case(suite, classname, check, counts)
    suite.set("tests", str(counts.tests))
    suite.set("failures", str(counts.failures))
    suite.set("errors", str(counts.errors))
    suite.set("skipped", str(counts.skipped))
    suite.set("time", f"{verification.duration:.3f}")
    return suite


def junit_xml(
    verifications: Iterable[RunbookVerification], name: str = "opsbook verify", hostname: str | None = None
) -> str:
    """The JUnit XML document (a `<testsuites>` root) for these verifications."""
    host = hostname if hostname is not None else socket.gethostname()
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for verification in verifications:
        suite = _suite(verification, host)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        total_time += verification.duration
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, verifications: Sequence[RunbookVerification], **kwargs: str) -> Path:
    """Write the JUnit file atomically (temp file + rename)."""
    return write_atomically(path, junit_xml(verifications, **kwargs))
