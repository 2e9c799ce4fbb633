"""Find runbooks on disk, give each its id, and resolve what a user typed (an id or a path).

The id rule, used by every command, the pytest plugin and the site: a runbook's id is its path
without `.md` below the folder it belongs to: `<project>/runbooks/` when it is inside it, else
the nearest enclosing folder named `runbooks`, else the folder it was found in.
"""

from __future__ import annotations

import os
from pathlib import Path

from opsbook.errors import FormatProblem, RunbookFormatError, UsageError
from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import parse_runbook

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


def id_root(path: Path, project: Path | None = None, found_in: Path | None = None) -> Path:
    """The folder a runbook's id is relative to (see the module docstring)."""
    resolved = Path(path).resolve()
    if project is not None:
        runbooks_dir = (project / RUNBOOKS_DIR).resolve()
        if resolved.is_relative_to(runbooks_dir):
            return runbooks_dir
    nearest = next((p for p in resolved.parents if p.name == RUNBOOKS_DIR), None)
    if nearest is not None:
        return nearest
    return Path(found_in).resolve() if found_in is not None else resolved.parent


def runbook_id(path: Path, root: Path | None) -> str:
    """`runbooks/incidents/db-down.md` below `runbooks/` → `incidents/db-down`; the stem outside `root`."""
    path = Path(path)
    if root is not None:
        try:
            return path.resolve().relative_to(Path(root).resolve()).with_suffix("").as_posix()
        except ValueError:
            pass
    return path.stem


def load_runbook(path: Path, root: Path | None = None) -> Runbook:
    """Parse the runbook file at `path`; its id is its path below `root` without `.md`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RunbookFormatError([FormatProblem(path, 1, f"not UTF-8 text ({exc.reason})",
                                                "save the file as UTF-8")]) from exc
    except OSError as exc:
        raise RunbookFormatError([FormatProblem(path, 1, f"cannot read: {exc.strerror}")]) from exc
    return parse_runbook(text, path, runbook_id(path, root))


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
        return load_runbook(as_path, id_root(as_path, root))
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
