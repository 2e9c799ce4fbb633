"""Find runbooks on disk and resolve what a user typed (an id or a path) to one of them."""

from __future__ import annotations

import os
from pathlib import Path

from opsbook.errors import FormatProblem, RunbookFormatError, UsageError
from opsbook.model import Runbook
from opsbook.parse import load_runbook

RUNBOOKS_DIR = "runbooks"


def project_root(start: Path | None = None) -> Path:
    """The nearest directory (from `start` up) holding runbooks/ or sandbox/; else `start`.

    OPSBOOK_ROOT overrides the search.
    """
    if os.environ.get("OPSBOOK_ROOT"):
        return Path(os.environ["OPSBOOK_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / RUNBOOKS_DIR).is_dir() or (candidate / "sandbox" / "compose.yaml").is_file():
            return candidate
    return here


def runbook_files(paths: list[Path]) -> list[Path]:
    """Expand directories to the Markdown files below them, sorted; keep files as given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.md")
                                if not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            files.append(path)
    return files


def find_runbooks(root: Path) -> list[Runbook]:
    """Parse every runbook below `root` (the runbooks/ directory); report all problems at once."""
    runbooks: list[Runbook] = []
    problems: list[FormatProblem] = []
    for path in runbook_files([Path(root)]):
        try:
            runbooks.append(load_runbook(path, root))
        except RunbookFormatError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RunbookFormatError(problems)
    return runbooks


def resolve_runbook(ref: str, root: Path) -> Runbook:
    """`ref` is a path to a runbook file or an id below `<root>/runbooks` (`incidents/db-down`)."""
    as_path = Path(ref)
    runbooks_dir = root / RUNBOOKS_DIR
    if as_path.is_file():
        inside = as_path.resolve().is_relative_to(runbooks_dir.resolve())
        return load_runbook(as_path, runbooks_dir if inside else as_path.parent)
    candidate = runbooks_dir / (ref if ref.endswith(".md") else ref + ".md")
    if candidate.is_file():
        return load_runbook(candidate, runbooks_dir)
    known = sorted(p.relative_to(runbooks_dir).with_suffix("").as_posix() for p in runbook_files([runbooks_dir])) \
        if runbooks_dir.is_dir() else []
    matches = [k for k in known if k.endswith("/" + ref) or k.split("/")[-1] == ref]
    if len(matches) == 1:
        return load_runbook(runbooks_dir / (matches[0] + ".md"), runbooks_dir)
    hint = f"; did you mean {' or '.join(matches)}?" if matches else \
        ("; `opsbook list` shows the runbooks" if known else f"; no runbooks/ directory below {root}")
    raise UsageError(f"no runbook `{ref}`{hint}")
