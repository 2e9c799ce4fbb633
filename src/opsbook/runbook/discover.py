"""Find runbooks on disk, give each its id, and resolve what a user typed (an id or a path).

The id rule, used by every command, the pytest plugin and the site: a runbook's id is its path
without `.md` below the folder it belongs to: the project's runbooks folder when it is inside it,
else the nearest enclosing folder named `runbooks`, else the folder it was found in.

Folders are walked with their symbolic links followed once (a link back into a folder already
walked is reported, not followed); hidden files and folders, and names the project excludes
(`README.md` and `_index.md` unless the project says otherwise), are not runbooks.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsbook.errors import FormatProblem, RunbookFormatError, UsageError
from opsbook.project import project_settings, settings_source, site_setting
from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import parse_runbook

RUNBOOKS_DIR = "runbooks"
DEFAULT_EXCLUDE = ("README.md", "_index.md")
"""Names that are never runbooks unless the project's `exclude` setting says otherwise."""


@dataclass(frozen=True)
class Catalogue:
    """The runbooks that read, and every problem of the files that did not."""

    runbooks: list[Runbook] = field(default_factory=list)
    problems: list[FormatProblem] = field(default_factory=list)


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


def runbooks_dir(root: Path) -> Path:
    """The project's runbooks folder: `runbooks_dir` of its settings, else the site's, else runbooks/."""
    configured = project_settings(root).get("runbooks_dir") or site_setting(root, "runbooks_dir") or RUNBOOKS_DIR
    if not isinstance(configured, str):
        raise UsageError(f"{settings_source(root)}: runbooks_dir must be a folder name, not {configured!r}")
    return Path(root) / configured


def excluded_names(root: Path) -> tuple[str, ...]:
    """Glob patterns of files below the runbooks folder that are not runbooks (project setting `exclude`)."""
    configured = project_settings(root).get("exclude", DEFAULT_EXCLUDE)
    if not isinstance(configured, (list, tuple)) or not all(isinstance(p, str) for p in configured):
        raise UsageError(f"{settings_source(root)}: exclude must be a list of file name patterns, "
                         f'e.g. exclude = ["README.md", "drafts/*"]')
    return tuple(configured)


def id_root(path: Path, project: Path | None = None, found_in: Path | None = None) -> Path:
    """The folder a runbook's id is relative to (see the module docstring)."""
    resolved = Path(path).resolve()
    if project is not None:
        folder = runbooks_dir(project).resolve()
        if resolved.is_relative_to(folder):
            return folder
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
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark before `---` is accepted
    except UnicodeDecodeError as exc:
        raise RunbookFormatError([FormatProblem(path, 1, f"not UTF-8 text ({exc.reason})",
                                                "save the file as UTF-8")]) from exc
    except OSError as exc:
        raise RunbookFormatError([FormatProblem(path, 1, f"cannot read: {exc.strerror}")]) from exc
    return parse_runbook(text, path, runbook_id(path, root))


def runbook_files(paths: Sequence[Path], exclude: Sequence[str] = DEFAULT_EXCLUDE,
                  problems: list[FormatProblem] | None = None) -> list[Path]:
    """Expand folders to the Markdown files below them, sorted; keep files as given.

    Symbolic links to folders are followed once; a link back into a folder already walked is
    not followed and is added to `problems` (when given) as a warning.
    """
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(_walk(path, tuple(exclude), problems))
        else:
            files.append(path)
    return files


def is_excluded(relative: str, exclude: Sequence[str]) -> bool:
    """Whether the file at `relative` (below the runbooks folder, `/`-separated) is not a runbook."""
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(relative, pattern) for pattern in exclude)


def _walk(top: Path, exclude: tuple[str, ...], problems: list[FormatProblem] | None) -> list[Path]:
    found: list[Path] = []
    walked = {os.path.realpath(top)}
    for folder, dirs, names in os.walk(top, followlinks=True):
        keep = []
        for name in sorted(dirs):
            if name.startswith("."):
                continue
            link = os.path.join(folder, name)
            real = os.path.realpath(link)
            if real in walked:
                if problems is not None:
                    problems.append(FormatProblem(Path(link), 1, f"symbolic link to {real}, a folder already "
                                                  "searched for runbooks: not followed (a loop, or the same "
                                                  "runbooks twice)", "remove the link or point it elsewhere"))
                continue
            walked.add(real)
            keep.append(name)
        dirs[:] = keep
        for name in names:
            if not name.endswith(".md") or name.startswith("."):
                continue
            path = Path(folder) / name
            if is_excluded(path.relative_to(top).as_posix(), exclude):
                continue
            found.append(path)
    return sorted(found)


def find_runbooks(root: Path, exclude: Sequence[str] = DEFAULT_EXCLUDE) -> Catalogue:
    """Parse every runbook below `root` (the runbooks folder): the good ones and every problem of the others."""
    catalogue = Catalogue()
    for path in runbook_files([Path(root)], exclude, catalogue.problems):
        try:
            catalogue.runbooks.append(load_runbook(path, root))
        except RunbookFormatError as exc:
            catalogue.problems.extend(exc.problems)
    return catalogue


def resolve_runbook(ref: str, root: Path) -> Runbook:
    """`ref` is a runbook id below the runbooks folder (`incidents/db-down`) or the path of a `.md` file.

    An id never leaves the runbooks folder (`../README` is refused), and a path must name a
    Markdown file, so that a typo cannot make opsbook read and run some other file.
    """
    folder = runbooks_dir(root)
    as_path = Path(ref)
    if ref.endswith(".md") and as_path.is_file():
        return load_runbook(as_path, id_root(as_path, root))
    candidate = folder / (ref if ref.endswith(".md") else ref + ".md")
    if ".." in Path(ref).parts or as_path.is_absolute() or not candidate.resolve().is_relative_to(folder.resolve()):
        raise UsageError(f"no runbook `{ref}`: an id is a path below {folder} (like incidents/db-down); "
                         "to use a file elsewhere, give its path ending in .md")
    if candidate.is_file():
        return load_runbook(candidate, folder)
    known = sorted(p.relative_to(folder).with_suffix("").as_posix()
                   for p in runbook_files([folder], excluded_names(root))) if folder.is_dir() else []
    matches = [k for k in known if k.endswith("/" + ref) or k.split("/")[-1] == ref]
    if len(matches) == 1:
        return load_runbook(folder / (matches[0] + ".md"), folder)
    hint = f"; did you mean {' or '.join(matches)}?" if matches else \
        ("; `opsbook list` shows the runbooks" if known else f"; no runbooks folder at {folder}")
    raise UsageError(f"no runbook `{ref}`{hint}")
