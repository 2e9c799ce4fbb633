"""One existing Markdown runbook → the text of an opsbook runbook, with notes on what needs a person.

The input is in the style of the public alert-runbook collections (prometheus-operator's,
OpenShift's, a team's wiki export): optional YAML or TOML front matter, a `# Title`, sections
such as Meaning / Impact / Diagnosis / Mitigation, and shell blocks (```shell, ```sh, ```bash,
```console) with `$ ` prompts and pasted output. Each shell block becomes named bash steps:
prompts stripped, pasted output moved into a ```text block after its step (never turned into an
output check: pasted output names pods, hosts and times that the next run will not print),
`<placeholders>` turned into parameters. Prose is kept as written; links are rewritten by the
caller's `LinkResolver`. Control characters and escape sequences in the input are dropped.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from opsbook.runbook.infostring import CODE_FENCE_LANGUAGES
from opsbook.runbook.lint import SHELL_PROSE_LANGUAGES
from opsbook.runbook.model import FORMAT_VERSION, SEVERITIES, Role
from opsbook.runbook.parse import scan_fences
from opsbook.authoring.commands import changes_something, command_words, interactive_reason
from opsbook.authoring.shell import has_prompts, kebab, replace_placeholders, split_session, unset_variables
from opsbook.authoring.source import header_text, step_fence
from opsbook.text import fenced, printable, rewrite_link_targets

SHELL_LANGUAGES = {"shell", "sh", "bash", "zsh", "ksh", "console", "shell-session", "shellsession", "sh-session",
                   "bash-session", "terminal", "shellscript", ""}
"""Fence languages whose blocks hold bash-like commands (```console and unlabelled fences only when
they show `$ ` prompts). Every other language `lint` calls shell prose (```fish) is kept as text."""
DEEP_FENCE = re.compile(r"^ {4,}(`{3,}|~{3,})")
"""A fence indented as code (in a nested list): Markdown and `parse` see no fence there."""
HEADING = re.compile(r"^ {0,3}(?P<level>#{1,6})\s+(?P<text>.*?)(?:\s+#+)?\s*$")
CAMEL_CASE_ALERT = re.compile(r"^(?=.*[a-z])[A-Z][a-z0-9]*(?:[A-Z][A-Za-z0-9]*)+$")
"""An alert name in CamelCase (`KubePodCrashLooping`, `KubeAPIDown`): two capitals at least."""
SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
SHORTCODE = re.compile(r"\{\{[<%]")
MAX_NAME = 48
MAX_SUMMARY = 300

SECTION_ROLES = (
    (re.compile(r"roll ?back|revert|undo", re.I), Role.ROLLBACK),
    (re.compile(r"verif|validat|confirm", re.I), Role.VERIFY),
    (re.compile(r"mitigat|remediat|resolution|resolv|\bfix|recover|workaround|repair", re.I), Role.REMEDIATE),
    (re.compile(r"diagnos|investigat|triage|troubleshoot|debug|\bcheck", re.I), Role.DIAGNOSE),
)
"""Section heading → the role of the steps in it (first match, innermost heading first)."""
GENERIC_SECTIONS = {
    "meaning", "impact", "diagnosis", "diagnose", "diagnostics", "mitigation", "mitigations", "remediation",
    "resolution", "verification", "steps", "procedure", "overview", "summary", "symptoms", "investigation",
    "troubleshooting", "rollback", "solution", "fix", "how-to-fix", "check", "checks", "commands", "example",
}
"""Headings too general to name a step after; the step is named after its command instead."""


class NoteKind(str, Enum):
    """What kind of attention a converted runbook needs (the report groups notes by it)."""

    INTERACTIVE = "interactive"  # a step that needs a terminal or never ends by itself
    PARAM = "param"  # a <placeholder> that became a parameter without a default
    VARIABLE = "variable"  # a $VARIABLE that nothing sets
    ROLE = "role"  # a step that looks like it changes something, outside a mitigation section
    DROPPED = "dropped"  # something kept as text instead of converted (code in another language, front matter)
    LINK = "link"  # a relative link that was not rewritten


@dataclass(frozen=True)
class Note:
    """One thing in a converted runbook a person must look at, at a line of the converted file."""

    line: int
    kind: NoteKind
    message: str


@dataclass(frozen=True)
class LinkRewrite:
    """What becomes of a link target: the target to write, and why it was not rewritten, if it was not."""

    href: str
    problem: str | None = None


LinkResolver = Callable[[str], LinkRewrite]
"""Given a link target as written in the input, say what to write instead."""


def keep_links(href: str) -> LinkRewrite:
    """A LinkResolver that rewrites nothing and sees no problem."""
    return LinkRewrite(href)


@dataclass(frozen=True)
class Conversion:
    """An input file converted: the runbook text, what it declares, and the notes for a person."""

    text: str
    title: str
    steps: tuple[str, ...]
    params: tuple[str, ...]
    alerts: tuple[str, ...]
    notes: tuple[Note, ...]


# --- reading the input -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fence:
    language: str
    raw: tuple[str, ...]  # every line, opening and closing fence included, as written
    body: str  # the content, dedented by the fence's indentation


def split_front_matter(text: str) -> tuple[dict[str, Any], list[str], str | None]:
    """(front matter, body lines, problem): YAML between `---` lines or TOML between `+++` lines."""
    lines = text.split("\n")
    if not lines or lines[0].strip() not in ("---", "+++"):
        return {}, lines, None
    marker = lines[0].strip()
    closing = ("---", "...") if marker == "---" else ("+++",)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in closing), None)
    if end is None:
        return {}, lines, None  # a `---` rule at the top, not front matter
    raw = "\n".join(lines[1:end])
    try:
        data = yaml.safe_load(raw) if marker == "---" else tomllib.loads(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        return {}, lines[end + 1:], f"front matter is not valid {'YAML' if marker == '---' else 'TOML'} " \
                                    f"({str(exc).splitlines()[0]}); its settings were not carried over"
    return (data if isinstance(data, dict) else {}), lines[end + 1:], None


def _scan(lines: list[str]) -> list[_Fence | str]:
    """The body as prose lines and fenced blocks, the fences found as `parse` finds them (so what
    stays prose here is prose to `opsbook lint` too); a fence's content is dedented by its indent."""
    items: list[_Fence | str] = []
    done = 0  # lines placed so far
    for fence in scan_fences(lines, 0):
        items.extend(lines[done:fence.line - 1])
        opening = lines[fence.line - 1]
        indent = opening[:len(opening) - len(opening.lstrip(" "))]
        content = [line[len(indent):] if line.startswith(indent) else line.lstrip(" ")
                   for line in fence.body.split("\n")] if fence.body else []
        items.append(_Fence(language=fence.language.lower(),
                            raw=tuple(lines[fence.line - 1:fence.end]), body="\n".join(content)))
        done = fence.end
    items.extend(lines[done:])
    return items


_CODE_LANGUAGES = frozenset(language.lower() for language in CODE_FENCE_LANGUAGES)
"""Fence languages jupytext reads as code: in a runbook, any but ```bash would be an error."""


# --- the converted body ------------------------------------------------------------------------


@dataclass
class _StepDraft:
    command: str
    section: tuple[str, ...]  # headings above it, outermost first
    section_id: int
    options: dict[str, Any] = field(default_factory=dict)
    interactive: str | None = None
    note: str | None = None  # a ROLE note
    name: str = ""


@dataclass
class _Body:
    """The converted body, built as a list of pieces; step names are given once all are known."""

    pieces: list[str | _StepDraft] = field(default_factory=list)
    notes: list[tuple[int, NoteKind, str]] = field(default_factory=list)  # (piece index, kind, message)

    def text(self, text: str) -> None:
        self.pieces.append(text)

    def note(self, kind: NoteKind, message: str) -> None:
        self.notes.append((len(self.pieces), kind, message))


def convert_markdown(text: str, source: Path, links: LinkResolver = keep_links) -> Conversion:
    """Convert the Markdown runbook `text` (read from `source`) into opsbook runbook text."""
    # Escape sequences and control characters have no place in a runbook (its title and prose are
    # printed in terminals); pasted output with colour codes would only show as noise.
    text = printable(text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
    front, lines, front_problem = split_front_matter(text)
    body = _Body()
    if front_problem:
        body.note(NoteKind.DROPPED, front_problem)
    items = _scan(lines)
    headings: list[tuple[int, str]] = []
    section_id = 0
    first_heading: str | None = None
    has_title = False
    params: dict[str, str] = {}
    underline = False
    for position, item in enumerate(items):
        if underline:  # of a setext heading, written as `#` above
            underline = False
            continue
        if isinstance(item, str):
            heading = _heading(item, items[position + 1] if position + 1 < len(items) else None)
            if heading:
                level, title = heading
                if level == 1 and not has_title:
                    has_title = True
                    first_heading = title
                headings = [h for h in headings if h[0] < level] + [(level, title)]
                section_id += 1
                if not HEADING.match(item):  # setext: `#` headings are the ones the site knows as the title
                    item, underline = "#" * level + " " + title, True
            if DEEP_FENCE.match(item):
                body.note(NoteKind.DROPPED, "a fenced block indented 4 spaces or more (in a nested list) is "
                                            "kept as it is: move it out of the list to make it a step")
            if SHORTCODE.search(item):
                body.note(NoteKind.DROPPED, f"Hugo shortcode kept as text: {item.strip()[:60]}")
            body.text(_rewrite_links(item, links, body))
            continue
        section = tuple(h[1] for h in headings if h[0] >= 2)
        if item.language in SHELL_LANGUAGES and (item.language not in ("console", "") or has_prompts(item.body)):
            _shell_block(item, section, section_id, body, params)
        elif item.language in _CODE_LANGUAGES or item.language in SHELL_PROSE_LANGUAGES:
            body.note(NoteKind.DROPPED, f"```{item.language} block kept as a ```text example: "
                                        "opsbook runs only ```bash steps")
            body.text(fenced(item.body, "text").rstrip("\n"))
        else:
            body.text("\n".join(item.raw))

    _name_steps(body)
    title, from_file_name = _title(front, first_heading, source)
    if not has_title:
        body.pieces.insert(0, f"# {title}\n")
        body.notes = [(i + 1, kind, message) for i, kind, message in body.notes]
    if from_file_name:
        body.notes.insert(0, (0, NoteKind.DROPPED, "no title in the file: it was made from the file name"))
    commands = [p.command for p in body.pieces if isinstance(p, _StepDraft)]
    fields = _header_fields(front, title, _summary(front, lines), _alerts(source, front, first_heading),
                            params)
    header = header_text(fields)
    first_line = header.count("\n") + 2  # the body starts after the header and a blank line
    rendered, notes = _render(body, first_line)
    notes += _value_notes(rendered, first_line, commands, params)
    if not commands:
        notes.append(Note(1, NoteKind.DROPPED, "no shell block to make a step of: nothing in this runbook runs"))
    notes.sort(key=lambda n: n.line)
    return Conversion(text=header + "\n" + rendered, title=title,
                      steps=tuple(p.name for p in body.pieces if isinstance(p, _StepDraft)),
                      params=tuple(params), alerts=tuple(fields.get("alerts", ())), notes=tuple(notes))


def _value_notes(rendered: str, first_line: int, commands: list[str], params: dict[str, str]) -> list[Note]:
    """A note at its first use for every placeholder made a parameter, and every variable nothing sets."""
    notes = [Note(_first_use(rendered, name, first_line), NoteKind.PARAM,
                  f"placeholder `<{placeholder}>` is now parameter {name} (no default: "
                  f"`opsbook run --param {name}=...`); give it a default or a better help text")
             for name, placeholder in params.items()]
    notes += [Note(_first_use(rendered, name, first_line), NoteKind.VARIABLE,
                   f"`${name}` is used but no step sets it and no parameter declares it: "
                   f"add it to `params:` (then `opsbook run --param {name}=...`) or set it in a step")
              for name in unset_variables(commands, set(params))]
    return notes


def _heading(line: str, following: _Fence | str | None) -> tuple[int, str] | None:
    """(level, text) when `line` is an ATX heading (`## Diagnosis`) or the text of a setext one
    (a line underlined with `===` or `---`)."""
    atx = HEADING.match(line)
    if atx:
        return len(atx.group("level")), atx.group("text").strip()
    if isinstance(following, str) and line.strip() and not re.match(r"^\s*([-*+>|]|\d+\.)", line):
        underline = SETEXT.match(following)
        if underline:
            return (1 if underline.group(1)[0] == "=" else 2), line.strip()
    return None


def _shell_block(fence: _Fence, section: tuple[str, ...], section_id: int, body: _Body,
                 params: dict[str, str]) -> None:
    """A shell block as steps, each followed by the output pasted after it."""
    segments = split_session(fence.body)
    if not any(s.kind == "command" and _has_command(s.text) for s in segments):
        body.text(fenced(fence.body, "text").rstrip("\n"))
        return
    for segment in segments:
        if segment.kind == "output":
            body.text("Example output (from the original runbook):")
            body.text(fenced(segment.text, "text").rstrip("\n"))
            continue
        if not _has_command(segment.text):
            body.text(fenced(segment.text, "text").rstrip("\n"))
            continue
        replaced = replace_placeholders(segment.text)
        for name, placeholder in replaced.params:
            params.setdefault(name, placeholder)
        body.pieces.append(_step_draft(replaced.command, section, section_id))


def _has_command(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def _section_role(section: tuple[str, ...]) -> Role | None:
    for heading in reversed(section):
        for pattern, role in SECTION_ROLES:
            if pattern.search(heading):
                return role
    return None


def _step_draft(command: str, section: tuple[str, ...], section_id: int) -> _StepDraft:
    """A step with the role its section suggests, unless it looks like it changes something."""
    draft = _StepDraft(command=command, section=section, section_id=section_id)
    role = _section_role(section)
    change = changes_something(command)
    if change:
        if role not in (Role.REMEDIATE, Role.ROLLBACK, None):
            where = section[-1] if section else "this section"
            draft.note = (f"under \"{where}\" but looks like it changes something ({change}): "
                          "made a destructive remediate step")
        draft.options["role"] = (Role.ROLLBACK if role is Role.ROLLBACK else Role.REMEDIATE).value
        draft.options["destructive"] = True
    elif role is not None:
        draft.options["role"] = role.value
    reason = interactive_reason(command)
    if reason:
        draft.interactive = reason
        draft.options["ci"] = f"skip: interactive: {reason}"
    return draft


def _name_steps(body: _Body) -> None:
    """Unique kebab-case names: the section's heading when it is specific and holds one step,
    else the command's first words (`kubectl-get-pods`)."""
    drafts = [p for p in body.pieces if isinstance(p, _StepDraft)]
    per_section: dict[int, int] = {}
    for draft in drafts:
        per_section[draft.section_id] = per_section.get(draft.section_id, 0) + 1
    taken: set[str] = set()
    for draft in drafts:
        heading = kebab(draft.section[-1]) if draft.section else ""
        if heading and heading not in GENERIC_SECTIONS and per_section[draft.section_id] == 1:
            base = heading
        else:
            base = "-".join(command_words(draft.command)) or heading or "step"
        base = _shorten(base)
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        draft.name = name


def _shorten(name: str) -> str:
    if len(name) <= MAX_NAME:
        return name
    cut = name[:MAX_NAME].rsplit("-", 1)[0]
    return cut or name[:MAX_NAME].strip("-")


def _render(body: _Body, first_line: int) -> tuple[str, list[Note]]:
    """The body text, and the notes at their lines in the whole file (the body starts at `first_line`)."""
    out: list[str] = []
    piece_lines: list[int] = []
    previous_was_block = False
    for piece in body.pieces:
        if isinstance(piece, str) and not piece.strip():
            piece_lines.append(first_line + len(out))
            if out and out[-1].strip():  # no leading or doubled blank lines
                out.append("")
            previous_was_block = False
            continue
        if isinstance(piece, _StepDraft):
            block = step_fence(piece.command, piece.name, piece.options).rstrip("\n")
            if piece.interactive:
                block = (f"<!-- TODO(opsbook import): interactive: {piece.interactive}. Steps run without a "
                         f"terminal: rewrite it to run on its own, or make it a ```text example. -->\n\n{block}")
        else:
            block = piece
        is_block = "\n" in block or block.startswith(("```", "~~~", "<!--", "Example output"))
        if (is_block or previous_was_block) and out and out[-1].strip():
            out.append("")  # a blank line around every block we wrote
        piece_lines.append(first_line + len(out))
        out.extend(block.split("\n"))
        previous_was_block = is_block
    text = "\n".join(out).rstrip("\n") + "\n"
    notes: list[Note] = []
    for index, kind, message in body.notes:
        line = piece_lines[index] if index < len(piece_lines) else first_line + len(out)
        notes.append(Note(line, kind, message))
    for index, piece in enumerate(body.pieces):
        if isinstance(piece, _StepDraft):
            line = piece_lines[index] + (2 if piece.interactive else 0)
            if piece.interactive:
                notes.append(Note(line, NoteKind.INTERACTIVE, f"step `{piece.name}` is interactive "
                                                              f"({piece.interactive}): rewrite it to run without a terminal"))
            if piece.note:
                notes.append(Note(line, NoteKind.ROLE, f"step `{piece.name}` {piece.note}"))
    return text, notes


def _first_use(text: str, name: str, first_line: int) -> int:
    """The line (in the whole file) of the first step line that uses `$name`."""
    pattern = re.compile(r"\$\{?" + re.escape(name) + r"\b")
    for number, line in enumerate(text.split("\n")):
        if pattern.search(line):
            return first_line + number
    return 0


# --- links ---------------------------------------------------------------------------------------


def _rewrite_links(line: str, links: LinkResolver, body: _Body) -> str:
    """`line` with its link targets as `links` says, outside `code spans`; problems become notes."""

    def target(href: str) -> str:
        result = links(href)
        if result.problem:
            body.note(NoteKind.LINK, result.problem)
        return result.href

    return rewrite_link_targets(line, target)


# --- the header ----------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """Markdown inline text as plain text for the header: links to their text, spaces collapsed,
    no control character (a YAML front matter can spell one as `\\e`)."""
    text = printable(text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _title(front: dict[str, Any], heading: str | None, source: Path) -> tuple[str, bool]:
    """The title (front matter `title:`, else the first `#` heading, else the file name), and
    whether it had to be made from the file name."""
    for candidate in (front.get("title"), heading):
        if isinstance(candidate, str) and _plain(candidate):
            return _plain(candidate), False
    words = kebab(source.stem).replace("-", " ")
    return (words[:1].upper() + words[1:] if words else source.stem), True


def _summary(front: dict[str, Any], lines: list[str]) -> str:
    """Front matter `summary`/`description`, else the first paragraph of prose."""
    for key in ("summary", "description"):
        if isinstance(front.get(key), str) and front[key].strip():
            return _clip(_plain(front[key]))
    items = _scan(lines)
    paragraph: list[str] = []
    for position, item in enumerate(items):
        following = items[position + 1] if position + 1 < len(items) else None
        if isinstance(item, _Fence) or _heading(item, following) or (paragraph and not item.strip()):
            if paragraph:
                break
            continue
        stripped = item.strip()
        if not stripped or SETEXT.match(item) or SHORTCODE.search(item) or \
                stripped.startswith(("<!--", "|", ">", "- ", "* ", "[", "!")) or re.match(r"^\d+\.\s", stripped):
            continue
        paragraph.append(stripped)
    return _clip(_plain(" ".join(paragraph)))


def _clip(text: str) -> str:
    if len(text) <= MAX_SUMMARY:
        return text
    return text[:MAX_SUMMARY].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _alerts(source: Path, front: dict[str, Any], heading: str | None) -> list[str]:
    """The alert this file answers, when its file name, title or heading is a CamelCase alert name."""
    alerts: list[str] = []
    for candidate in (source.stem, front.get("title"), heading):
        if isinstance(candidate, str) and CAMEL_CASE_ALERT.match(candidate.strip()) and candidate.strip() not in alerts:
            alerts.append(candidate.strip())
    return alerts


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [_plain(v) for v in value.split(",") if _plain(v)]
    if isinstance(value, list):
        return [_plain(str(v)) for v in value if isinstance(v, (str, int)) and not isinstance(v, bool) and _plain(str(v))]
    return []


def _header_fields(front: dict[str, Any], title: str, summary: str, alerts: list[str],
                   params: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"format": FORMAT_VERSION, "title": title}
    if summary:
        fields["summary"] = summary
    for key in ("owner", "team"):
        if isinstance(front.get(key), str) and front[key].strip():
            fields["owner"] = _plain(front[key])
            break
    severity = str(front.get("severity", "")).upper()
    if severity in SEVERITIES:
        fields["severity"] = severity
    if alerts:
        fields["alerts"] = alerts
    tags = _names(front.get("tags")) or _names(front.get("labels"))
    if tags:
        fields["tags"] = tags
    if params:
        fields["params"] = {name: {"help": placeholder} for name, placeholder in params.items()}
    return fields
