"""`opsbook import`: a collection of Markdown runbooks → opsbook runbooks in one folder, and what needs a person.

Planning reads every input, converts it (`convert`), rewrites the links between the files it
converts, and checks each result parses as a runbook; nothing is written until the whole plan
is made, so an unreadable input stops the import before any file changes. Hugo `_index.md`
section pages and READMEs are dropped (they are never runbooks, see `discover.DEFAULT_EXCLUDE`); files that already are opsbook runbooks are left alone; an existing
target is replaced only when asked to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import unquote

from opsbook.errors import RunbookFormatError, UsageError
from opsbook.authoring.convert import Conversion, LinkResolver, LinkRewrite, convert_markdown, split_front_matter
from opsbook.runbook.discover import DEFAULT_EXCLUDE, id_root, is_excluded, runbook_files, runbook_id
from opsbook.runbook.parse import parse_runbook
from opsbook.authoring.shell import kebab
from opsbook.text import write_atomically

URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class Outcome(str, Enum):
    """What the import does with one input file."""

    CONVERTED = "converted"  # written to its target (or would be, in a dry run)
    INDEX = "index"  # a Hugo section page (_index.md) or a README: dropped, as discover never reads them
    ALREADY = "already"  # already an opsbook runbook: left where it is
    EXISTS = "exists"  # its target exists: not overwritten without --force
    INVALID = "invalid"  # the converted text does not parse: not written (a bug in the importer)


@dataclass(frozen=True)
class ImportedFile:
    """One input file and what became of it."""

    source: Path
    outcome: Outcome
    target: Path | None = None
    conversion: Conversion | None = None
    problems: tuple[str, ...] = ()  # why an INVALID conversion does not parse

    @property
    def needs_human(self) -> bool:
        """Whether a person must look at this file before the runbook can be trusted."""
        return self.outcome in (Outcome.EXISTS, Outcome.INVALID) or bool(self.conversion and self.conversion.notes)


@dataclass(frozen=True)
class ImportPlan:
    """Every input file, in order, with its outcome; `write_import` carries it out."""

    into: Path
    files: tuple[ImportedFile, ...]

    @property
    def to_write(self) -> tuple[ImportedFile, ...]:
        return tuple(f for f in self.files if f.outcome is Outcome.CONVERTED)

    @property
    def needs_human(self) -> bool:
        return any(f.needs_human for f in self.files)


@dataclass(frozen=True)
class _Input:
    source: Path  # resolved
    relative: Path  # below the folder it was found in, or its name when given as a file
    text: str


def _inputs(paths: Sequence[Path]) -> list[_Input]:
    """Every Markdown file named or found below a named folder; UsageError if one cannot be read."""
    found: list[_Input] = []
    seen: set[Path] = set()
    for given in paths:
        if given.is_dir():
            files = [(f, f.relative_to(given)) for f in runbook_files([given], exclude=())]
        elif given.is_file():
            if given.suffix.lower() not in (".md", ".markdown"):
                raise UsageError(f"{given} is not a Markdown file (.md)")
            files = [(given, Path(given.name))]
        else:
            raise UsageError(f"{given}: no such file or folder")
        for path, relative in files:
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise UsageError(f"cannot read {path}: not UTF-8 text ({exc.reason})") from exc
            except OSError as exc:
                raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
            found.append(_Input(resolved, relative, text))
    return found


def target_path(into: Path, relative: Path) -> Path:
    """Where an input lands: below `into`, every part of its path in kebab-case
    (`kubernetes/KubePodCrashLooping.md` → `kubernetes/kube-pod-crash-looping.md`)."""
    parts = [kebab(part) or "runbook" for part in relative.with_suffix("").parts]
    return into.joinpath(*parts).with_suffix(".md")


def _is_opsbook_runbook(text: str) -> bool:
    front, _, _ = split_front_matter(text.lstrip("\ufeff"))
    return "opsbook" in front


def plan_import(paths: Sequence[Path], into: Path, *, force: bool = False) -> ImportPlan:
    """Convert every input in memory and decide what to write; nothing is written here."""
    inputs = _inputs(paths)
    if not inputs:
        raise UsageError(f"no Markdown files in {', '.join(str(p) for p in paths)}")
    into = into.resolve()
    planned: dict[Path, Path] = {}  # source → target, for the files that will be converted
    sections: set[Path] = set()
    already: set[Path] = set()
    for item in inputs:
        if is_excluded(item.relative.as_posix(), DEFAULT_EXCLUDE):
            sections.add(item.source)
        elif _is_opsbook_runbook(item.text):
            already.add(item.source)
        else:
            target = target_path(into, item.relative)
            clash = next((s for s, t in planned.items() if t == target), None)
            if clash is not None:
                raise UsageError(f"{clash} and {item.source} would both be written to {target}: import them "
                                 "separately, with different --into folders")
            planned[item.source] = target
    if not planned:
        raise UsageError("nothing to import: every file found is an index page ("
                         f"{', '.join(DEFAULT_EXCLUDE)}) or already an opsbook runbook")
    files: list[ImportedFile] = []
    for item in inputs:
        if item.source in sections:
            files.append(ImportedFile(item.source, Outcome.INDEX))
            continue
        if item.source in already:
            files.append(ImportedFile(item.source, Outcome.ALREADY))
            continue
        target = planned[item.source]
        conversion = convert_markdown(item.text, item.source, _link_resolver(item.source, target, planned, sections))
        try:
            parse_runbook(conversion.text, target, runbook_id(target, id_root(target)))
        except RunbookFormatError as exc:
            files.append(ImportedFile(item.source, Outcome.INVALID, target, conversion,
                                      tuple(f"line {p.line}: {p.message}" for p in exc.problems)))
            continue
        outcome = Outcome.EXISTS if target.exists() and not force else Outcome.CONVERTED
        files.append(ImportedFile(item.source, outcome, target, conversion))
    return ImportPlan(into=into, files=tuple(files))


def write_import(plan: ImportPlan) -> list[Path]:
    """Write every converted runbook of `plan`; the paths written."""
    written = []
    for item in plan.to_write:
        assert item.target is not None and item.conversion is not None
        written.append(write_atomically(item.target, item.conversion.text))
    return written


def _link_resolver(source: Path, target: Path, planned: dict[Path, Path], sections: set[Path]) -> LinkResolver:
    """Rewrite relative links to other converted files to their new relative paths; say why others stay."""
    by_name = {s.with_suffix("").as_posix().lower(): t for s, t in planned.items()}

    def converted(path: str) -> Path | None:
        linked = Path(os.path.normpath(source.parent / path))
        if linked.suffix.lower() == ".md":
            return planned.get(linked) or by_name.get(linked.with_suffix("").as_posix().lower())
        # Hugo serves `KubePodCrashLooping.md` at `.../kubepodcrashlooping/`, and a link on that page is
        # relative to that folder: try the page's folder too, without case or suffix.
        for base in (source.parent, source.parent / source.stem):
            key = Path(os.path.normpath(base / path)).as_posix().lower()
            if key in by_name:
                return by_name[key]
        return None

    def resolve(href: str) -> LinkRewrite:
        if URL_SCHEME.match(href) or href.startswith(("#", "//")) or not href:
            return LinkRewrite(href)
        path, hash_sign, fragment = href.partition("#")
        path = path.split("?", 1)[0]
        if not path:
            return LinkRewrite(href)
        if path.startswith("/"):
            return LinkRewrite(href, f"link `{href}` not rewritten: it is a path on the old site; "
                                     "link to the runbook file by its relative path instead")
        linked = Path(os.path.normpath(source.parent / unquote(path)))
        new = converted(unquote(path))
        if new is not None:
            relative = Path(os.path.relpath(new, target.parent)).as_posix()
            return LinkRewrite(relative + (hash_sign + fragment if hash_sign else ""))
        if linked in sections or any(linked / name in sections for name in DEFAULT_EXCLUDE):
            return LinkRewrite(href, f"link `{href}` not rewritten: it points to an index page, which is not converted")
        if linked.suffix.lower() == ".md" or linked.with_suffix(".md").exists():
            return LinkRewrite(href, f"link `{href}` not rewritten: that runbook is not part of this import")
        if linked.exists():
            return LinkRewrite(href, f"link `{href}` not rewritten: copy the file next to the runbook, "
                                     "or link to it by URL")
        return LinkRewrite(href, f"link `{href}` points to nothing: fix or remove it")

    return resolve
