"""The run transcript: a Markdown timeline of a run, fit to paste into a post-mortem.

Pure: ``render_transcript(runbook, events)`` reads nothing and writes nothing. The
transcript has a header (runbook, file, operator, target, params, start, end, status), a
table of every step's outcome, then one section per session (a resumed run appends a
session) listing each step attempt in order with its command, its output (stdout and
stderr apart), status, exit code, duration and the reason it failed or was skipped, then
the steps the session never reached. A step that started and never finished (opsbook was
killed) is shown as interrupted with no result recorded.

Command output goes in fences longer than any backtick run it contains, so nothing a
command prints can end the fence and turn into Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from opsbook.run.events import Event, RunStatus, StepStatus
from opsbook.runbook.model import Runbook, Step
from opsbook.run.redact import MASK, Masker
from opsbook.record.eventlog import (
    NO_RESULT_REASON,
    Attempt,
    RunSession,
    fold_sessions,
    latest_results,
)
from opsbook.text import fenced, format_duration, format_time, terminal_text

_BACKTICKS = re.compile(r"`+")

STATUS_LABEL = {
    StepStatus.PASSED: "passed",
    StepStatus.FAILED: "failed",
    StepStatus.TIMED_OUT: "timed out",
    StepStatus.INTERRUPTED: "interrupted",
    StepStatus.SKIPPED: "skipped",
    StepStatus.NOT_RUN: "not run",
}


# --- Markdown for untrusted text ----------------------------------------------------


def inline_code(text: str) -> str:
    """``text`` as inline code that its own backticks cannot end."""
    text = " ".join(text.split("\n"))
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def plain(text: str) -> str:
    """One line of untrusted text (a reason, a name) safe in Markdown and in a table cell."""
    text = " ".join(text.split())
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    )


# --- the transcript ------------------------------------------------------------------


def render_transcript(
    runbook: Runbook, events: Sequence[Event], *, masker: Masker | None = None
) -> str:
    """The Markdown transcript of ``events`` (one or more sessions) of ``runbook``.

    ``masker``, if given, is applied once more to everything shown (events are masked when
    emitted; this also catches a secret that only appears once colour codes are removed).
    """
    return TranscriptRenderer(runbook, masker=masker).render(fold_sessions(events))


class TranscriptRenderer:
    """Renders transcripts of one runbook, reusing the text of attempts that did not change.

    For a writer that re-renders after every step: with the sessions kept by a
    :class:`~opsbook.record.eventlog.SessionFolder`, each render only formats what is new.
    """

    def __init__(self, runbook: Runbook, *, masker: Masker | None = None) -> None:
        self.runbook = runbook
        self.masker = masker
        self.secret_params = {p.name for p in runbook.params if p.secret}
        self._cache: dict[int, tuple[Attempt, tuple[int, int], list[str]]] = {}
        self.sessions: list[RunSession] = []
        self.lines: list[str] = []

    def render(self, sessions: list[RunSession]) -> str:
        """The transcript of ``sessions``."""
        self.sessions = sessions
        self.lines = []
        self.header()
        self.summary()
        for session in sessions:
            self.session(session)
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def mask(self, text: str) -> str:
        return self.masker.mask(text) if self.masker else text

    def out(self, *lines: str) -> None:
        self.lines.extend(lines)

    # header and summary

    def header(self) -> None:
        rb = self.runbook
        first = next((s.started for s in self.sessions if s.started), None)
        last = self.sessions[-1] if self.sessions else None
        finished = last.finished.result.finished_at if last and last.finished else None

        def distinct(values: list[str]) -> str:
            seen = list(dict.fromkeys(v for v in values if v))
            return ", ".join(plain(v) for v in seen) if seen else "—"

        started_events = [s.started for s in self.sessions if s.started]
        self.out(f"# Transcript: {plain(rb.title or rb.id)}", "")
        self.out("| | |", "| --- | --- |")
        self.out(f"| Runbook | {plain(rb.title)} ({inline_code(rb.id)}) |")
        self.out(f"| File | {inline_code(str(rb.path))} |")
        self.out(f"| Operator | {distinct([e.operator for e in started_events])} |")
        self.out(f"| Target | {distinct([e.target for e in started_events])} |")
        self.out(f"| Params | {self.params(first.params if first else ())} |")
        self.out(f"| Started | {format_time(first.started_at) if first else '—'} |")
        self.out(f"| Finished | {format_time(finished) if finished else '—'} |")
        self.out(f"| Status | {self.final_status()} |")
        for note in dict.fromkeys(n for e in started_events for n in e.notes):
            self.out(f"| Note | {plain(self.mask(note))} |")
        if len(self.sessions) > 1:
            self.out(f"| Sessions | {len(self.sessions)} (resumed {len(self.sessions) - 1}×) |")
        self.out("")

    def params(self, params: Sequence[tuple[str, str]]) -> str:
        if not params:
            return "—"
        shown = []
        for name, value in params:
            value = MASK if name in self.secret_params else self.mask(value)
            shown.append(inline_code(f"{name}={value}"))
        return ", ".join(shown).replace("|", "\\|")

    def final_status(self) -> str:
        if not self.sessions:
            return "not started"
        last = self.sessions[-1]
        if last.finished is None:
            running = [a for a in last.attempts if a.interrupted_without_result]
            where = f" during step {running[-1].index} {inline_code(running[-1].name)}" if running else ""
            return f"**interrupted**{where}: opsbook stopped before the run finished"
        result = last.finished.result
        text = f"**{result.status.value}**"
        failed = result.failed_step
        if failed is not None and result.status is not RunStatus.PASSED:
            text += f" at step {failed.index} {inline_code(failed.name)}"
        return text

    def summary(self) -> None:
        latest = latest_results(self.sessions)
        reported = self.reported_not_run()
        steps = list(self.runbook.steps)
        known = {s.index for s in steps}
        extra = sorted(i for i in latest if i not in known)
        if not steps and not extra:
            return
        self.out("## Steps", "")
        self.out("| # | Step | Status | Exit | Duration | Attempts |")
        self.out("| ---: | --- | --- | ---: | ---: | ---: |")
        rows: list[tuple[int, str]] = [(s.index, s.name) for s in steps]
        rows += [(i, latest[i].name) for i in extra]
        for index, name in rows:
            attempt = latest.get(index)
            if attempt is None:
                status = reported.get(index, StepStatus.NOT_RUN)
                self.out(f"| {index} | {plain(name)} | {_label(status)} | | | |")
                continue
            result = attempt.result
            exit_status = "" if result is None or result.exit_status is None else str(result.exit_status)
            duration = format_duration(result.duration) if result else ""
            attempts = str(result.attempts or attempt.attempt) if result else str(attempt.attempt)
            if attempt.status in (StepStatus.SKIPPED, StepStatus.NOT_RUN):
                duration = attempts = ""
            self.out(
                f"| {index} | {plain(name)} | {_label(attempt.status)} | {exit_status} "
                f"| {duration} | {attempts} |"
            )
        self.out("")

    def reported_not_run(self) -> dict[int, StepStatus]:
        """Step statuses the last RunFinished reports for steps with no attempt."""
        statuses: dict[int, StepStatus] = {}
        for session in self.sessions:
            if session.finished:
                for step in session.finished.result.steps:
                    statuses[step.index] = step.status
        return statuses

    # sessions

    def session(self, session: RunSession) -> None:
        title = f"Session {session.number}" + (" (resumed)" if session.resumed else "")
        self.out(f"## {title}", "")
        started = session.started
        if started is not None:
            self.out(
                f"Started {format_time(started.started_at)} by {plain(started.operator) or '—'} "
                f"on target {plain(started.target) or '—'}.",
                "",
            )
        totals: dict[int, int] = {}
        for attempt in session.attempts:
            count = attempt.result.attempts if attempt.result and attempt.result.attempts else 0
            totals[attempt.index] = max(totals.get(attempt.index, 0), attempt.attempt, count)
        for attempt in session.attempts:
            key = (attempt.version, totals[attempt.index])
            cached = self._cache.get(id(attempt))
            if cached is None or cached[0] is not attempt or cached[1] != key:
                mark = len(self.lines)
                self.attempt(attempt, totals[attempt.index])
                # The attempt is kept in the entry so that its id() is not reused.
                cached = (attempt, key, self.lines[mark:])
                self._cache[id(attempt)] = cached
            else:
                self.out(*cached[2])
        self.not_run(session)
        if session.finished is not None:
            result = session.finished.result
            self.out(
                f"Session {session.number} finished {format_time(result.finished_at)}: "
                f"**{result.status.value}**.",
                "",
            )
        else:
            self.out(
                f"Session {session.number} has no end recorded: opsbook stopped before the "
                "run finished.",
                "",
            )

    def attempt(self, attempt: Attempt, total: int) -> None:
        result = attempt.result
        clock = format_time(attempt.started_at, clock_only=True) + " · " if attempt.started_at else ""
        self.out(f"### {clock}Step {attempt.index} · {plain(attempt.name)}", "")
        status = attempt.status
        ran = status not in (StepStatus.SKIPPED, StepStatus.NOT_RUN)
        facts = [f"**{_label(status)}**"]
        if result is not None and result.exit_status is not None:
            facts.append(f"exit code {result.exit_status}")
        if result is not None and (ran or result.duration):
            facts.append(format_duration(result.duration))
        if total > 1:
            facts.append(f"attempt {attempt.attempt} of {total}")
        if attempt.interrupted_without_result:
            facts[0] += f": {NO_RESULT_REASON}"
        self.out(f"- Status: {', '.join(facts)}")
        if attempt.started_at:
            self.out(f"- Started: {format_time(attempt.started_at)}")
        reason = attempt.reason
        if reason and status is not StepStatus.PASSED and not attempt.interrupted_without_result:
            self.out(f"- Reason: {plain(self.mask(reason))}")
        self.out("")
        command = attempt.command or (result.command if result else "") or self.source_of(attempt)
        if command and status not in (StepStatus.SKIPPED, StepStatus.NOT_RUN):
            self.out(fenced(self.mask(command), "bash"))
        if status in (StepStatus.SKIPPED, StepStatus.NOT_RUN) and not attempt.outputs:
            return
        shown = False
        for stream in ("stdout", "stderr"):
            text = self.mask(terminal_text(attempt.text(stream)))
            if text:
                self.out(f"{stream}:", "", fenced(text, "text"))
                shown = True
        if not shown:
            self.out("(no output)", "")
        if result is not None and result.truncated:
            self.out("Output was cut at the size limit; the rest was not kept.", "")

    def source_of(self, attempt: Attempt) -> str:
        step = self.step(attempt.index, attempt.name)
        return step.source if step else ""

    def step(self, index: int, name: str) -> Step | None:
        for step in self.runbook.steps:
            if step.name == name:
                return step
        for step in self.runbook.steps:
            if step.index == index:
                return step
        return None

    def not_run(self, session: RunSession) -> None:
        touched = {a.index for a in session.attempts}
        # A resumed session starts after steps that passed before: those are not "not run".
        done_before = {
            a.index
            for earlier in self.sessions[: session.number - 1]
            for a in earlier.final_attempts()
            if a.status is StepStatus.PASSED
        }
        first = min(touched) if touched else 0
        entries: dict[int, tuple[str, str]] = {}
        if session.finished is not None:
            for reported in session.finished.result.steps:
                if reported.index < first and reported.index in done_before:
                    continue
                if reported.index not in touched and reported.status in (
                    StepStatus.NOT_RUN,
                    StepStatus.SKIPPED,
                ):
                    label = _label(reported.status)
                    why = f"{label}: {reported.reason}" if reported.reason else label
                    entries[reported.index] = (reported.name, why)
        if session.attempts:
            reached = max(touched)
            if session.finished is None:
                why = "not run: opsbook stopped before reaching it"
            else:
                why = "not run: the run ended before it"
            for step in self.runbook.steps:
                if step.index > reached and step.index not in entries:
                    entries[step.index] = (step.name, why)
        elif session.finished is None:
            for step in self.runbook.steps:
                entries.setdefault(step.index, (step.name, "not run: opsbook stopped before reaching it"))
        if not entries:
            return
        self.out("### Not run", "")
        for index in sorted(entries):
            name, why = entries[index]
            self.out(f"- Step {index} {inline_code(name)}: {plain(self.mask(why))}")
        self.out("")


def _label(status: StepStatus) -> str:
    return STATUS_LABEL.get(status, status.value.replace("_", " "))
