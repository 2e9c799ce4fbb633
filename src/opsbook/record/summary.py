"""The Markdown summary of one run (`opsbook run --summary FILE`), for a pipeline's page
(`$GITHUB_STEP_SUMMARY`) or any Markdown viewer: the verdict, a table of the steps, and the
transcript as a fenced block. Nothing from the runbook or a command's output becomes markup:
table cells are escaped, and the transcript sits in a fence longer than any backtick run in it."""

from __future__ import annotations

from pathlib import Path

from opsbook.run.events import RunResult
from opsbook.text import fenced, format_duration
from opsbook.text import markdown_cell as cell

LIMIT = 900_000
"""Characters of transcript kept (GitHub takes 1 MiB per step summary); the middle is cut."""


def run_summary(result: RunResult, transcript: str, record_dir: Path | None = None) -> str:
    """The summary of `result`; `transcript` is the record's transcript.md (masked already)."""
    verdict = result.status.value
    failed = result.failed_step
    lines = [f"### opsbook run {cell(result.runbook_id)} on {cell(result.target)}: {cell(verdict)}", ""]
    if failed is not None:
        lines += [f"Stopped at step {cell(failed.name)}: {cell(failed.reason or failed.status.value)}", ""]
    if result.params:
        lines += ["Parameters: " + ", ".join(f"{cell(k)}={cell(v)}" for k, v in result.params), ""]
    lines += ["| step | result | time | exit |", "| --- | --- | ---: | ---: |"]
    for step in result.steps:
        exit_status = "" if step.exit_status is None else str(step.exit_status)
        lines.append(f"| {cell(step.name)} | {cell(step.status.value)} | {cell(format_duration(step.duration))} "
                     f"| {exit_status} |")
    if record_dir is not None:
        lines += ["", f"Record: {cell(str(record_dir))} (transcript.md, events.jsonl, executed.ipynb)"]
    if len(transcript) > LIMIT:
        half = LIMIT // 2
        transcript = f"{transcript[:half]}\n[... {len(transcript) - LIMIT} characters cut ...]\n{transcript[-half:]}"
    lines += ["", "<details><summary>Transcript</summary>", "", fenced(transcript, "text"), "</details>"]
    return "\n".join(lines) + "\n"


def append_summary(path: Path, text: str) -> None:
    """Append (GitHub gives every step the same file; earlier steps wrote theirs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(text)
