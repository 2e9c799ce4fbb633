"""The executed notebook: the runbook's cells with the outputs a run recorded.

Pure: ``build_notebook(runbook, events)`` returns an nbformat v4 notebook that JupyterLab
opens (the opsbook kernelspec) and ``nbformat.validate`` accepts. Prose becomes
Markdown cells; each step becomes a code cell carrying its options as metadata (the keys
jupytext writes in the fence info string), the masked output of its last attempt as
stdout/stderr stream outputs, an execution count, and
``metadata.opsbook = {status, exit_status, duration, started_at, attempts, reason}``.
A step that never ran has no outputs and status ``not_run``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import json

import nbformat
from nbformat import NotebookNode

from opsbook.run.events import Event, StepStatus
from opsbook.kernel.protocol import LANGUAGE, kernelspec_metadata
from opsbook.record.eventlog import Attempt, RunSession, fold_sessions, latest_results
from opsbook.run.redact import MASK, Masker
from opsbook.runbook.model import Prose, Runbook, Step
from opsbook.runbook.options import step_metadata
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _cell_id(prefix: str, text: str, used: set[str]) -> str:
    base = (prefix + "-" + _ID_UNSAFE.sub("-", text)).strip("-")[:60] or prefix
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base[:56]}-{n}"
        n += 1
    used.add(candidate)
    return candidate


def _record(attempt: Attempt | None, reported: StepStatus | None, reason: str) -> dict[str, Any]:
    if attempt is None:
        return {
            "status": (reported or StepStatus.NOT_RUN).value,
            "exit_status": None,
            "duration": None,
            "started_at": None,
            "attempts": 0,
            "reason": reason,
        }
    result = attempt.result
    return {
        "status": attempt.status.value,
        "exit_status": result.exit_status if result else None,
        "duration": result.duration if result else None,
        "started_at": (result.started_at if result and result.started_at else attempt.started_at),
        "attempts": (result.attempts if result and result.attempts else attempt.attempt),
        "reason": attempt.reason,
    }


def build_notebook(
    runbook: Runbook, events: Sequence[Event], *, masker: Masker | None = None
) -> NotebookNode:
    """The executed notebook for ``events`` of ``runbook`` (latest attempt of each step)."""
    return nbformat.from_dict(notebook_data(runbook, fold_sessions(events), masker=masker))


def notebook_data(
    runbook: Runbook, sessions: Sequence[RunSession], *, masker: Masker | None = None
) -> dict[str, Any]:
    """The executed notebook as plain JSON data, from already folded sessions."""
    mask = masker.mask if masker else (lambda text: text)
    latest = latest_results(sessions)
    reported: dict[int, tuple[StepStatus, str]] = {}
    for session in sessions:
        if session.finished:
            for step_result in session.finished.result.steps:
                reported[step_result.index] = (step_result.status, step_result.reason)

    cells: list[dict[str, Any]] = []
    used_ids: set[str] = set()
    execution_count = 0
    by_name = {s.name: s for s in runbook.steps}
    latest_by_name = {a.name: a for a in latest.values()}

    def code_cell(
        step: Step | None, attempt: Attempt | None, index: int, name: str
    ) -> dict[str, Any]:
        nonlocal execution_count
        source = step.source if step else (attempt.command if attempt else "")
        meta: dict[str, Any] = step_metadata(step.options, step.name) if step else {"name": name}
        status, reason = reported.get(index, (StepStatus.NOT_RUN, ""))
        if attempt is None and status is StepStatus.NOT_RUN and not reason:
            reason = "not run"
        meta["opsbook"] = _record(attempt, status if attempt is None else None, mask(reason))
        cell: dict[str, Any] = {
            "cell_type": "code",
            "id": _cell_id("step", name, used_ids),
            "metadata": meta,
            "source": source,
            "execution_count": None,
            "outputs": [],
        }
        if attempt is not None and attempt.status not in (StepStatus.SKIPPED, StepStatus.NOT_RUN):
            execution_count += 1
            cell["execution_count"] = execution_count
            cell["outputs"] = [
                {"output_type": "stream", "name": stream, "text": mask(text)}
                for stream, text in attempt.outputs
                if text
            ]
        return cell

    prose_count = 0
    for item in runbook.cells:
        if isinstance(item, Prose):
            prose_count += 1
            cells.append(
                {
                    "cell_type": "markdown",
                    "id": _cell_id("prose", str(prose_count), used_ids),
                    "metadata": {},
                    "source": item.text,
                }
            )
        else:
            # Steps are matched by name: an edited file may have renumbered them.
            cells.append(code_cell(item, latest_by_name.get(item.name), item.index, item.name))
    # Steps the log records but the runbook file no longer has: keep their output.
    for attempt in sorted(latest_by_name.values(), key=lambda a: a.index):
        if attempt.name not in by_name:
            cells.append(code_cell(None, attempt, attempt.index, attempt.name))

    secret_params = {p.name for p in runbook.params if p.secret}
    first = next((s.started for s in sessions if s.started), None)
    last = sessions[-1] if sessions else None
    run_meta: dict[str, Any] = {
        "runbook_id": runbook.id,
        "title": runbook.title,
        "sessions": len(sessions),
        "target": first.target if first else None,
        "operator": first.operator if first else None,
        "params": {
            name: MASK if name in secret_params else mask(value)
            for name, value in (first.params if first else ())
        },
        "started_at": first.started_at if first else None,
        "finished_at": last.finished.result.finished_at if last and last.finished else None,
        "status": (
            last.finished.result.status.value
            if last and last.finished
            else ("interrupted" if sessions else "not_run")
        ),
    }
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": kernelspec_metadata(),
            "language_info": {"name": LANGUAGE},
            "opsbook": run_meta,
        },
        "cells": cells,
    }
    # Built as plain data: nbformat's new_* helpers validate every cell, which made
    # rewriting the notebook after each step of a long runbook slow.
    return notebook


def notebook_text(nb: Mapping[str, Any]) -> str:
    """``nb`` as the text of an .ipynb file: one line per cell, so that large records
    serialise fast (the standard indented form goes through json's slow pure-Python path)."""
    dump = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
    cells = ",\n".join("  " + dump(cell) for cell in nb["cells"])
    rest = {key: value for key, value in nb.items() if key != "cells"}
    head = ",\n".join(f" {dump(key)}: {dump(value)}" for key, value in sorted(rest.items()))
    body = f' "cells": [\n{cells}\n ]' if cells else ' "cells": []'
    return "{\n" + body + ",\n" + head + "\n}\n"
