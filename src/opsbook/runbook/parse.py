"""Runbook text → frozen model objects; the only place raw metadata is interpreted.

A runbook is jupytext Markdown. The YAML header holds jupytext's `jupyter:` block and an
`opsbook:` block; steps are ```bash fences whose info string carries options in jupytext's
key=value (JSON values) syntax. Every problem found is collected with its line and a hint,
then raised together as one RunbookFormatError, so `opsbook lint` can show them all at once.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsbook.errors import FormatProblem, RunbookFormatError
from opsbook.kernel.protocol import KERNEL_NAME, LANGUAGE
from opsbook.runbook.model import (
    ALERT_NAME,
    FORMAT_VERSION,
    SEVERITIES,
    Cell,
    Param,
    Prose,
    Runbook,
    Step,
    VerifyCase,
)
from opsbook.runbook.infostring import CODE_FENCE_LANGUAGES, LANGUAGES_LOWER, read_info_string
from opsbook.runbook.options import positive_int, read_step_options, string_list, unknown_key_hint

STEP_LANGUAGES = {KERNEL_NAME: LANGUAGE}
"""Kernel name → the fence language whose cells are steps for that kernel."""

HEADER_KEYS = ("format", "title", "summary", "owner", "severity", "services", "alerts", "tags",
               "scenario", "targets", "params", "timeout", "verify")
PARAM_KEYS = ("default", "help", "secret")
VERIFY_KEYS = ("case", "params", "scenario", "alerts", "within")
PARAM_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
YAML11_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n"}
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: parsing is on the site's hot path


@dataclass(frozen=True)
class Fence:
    """A fenced block found in the raw text: where it opens and closes, and its info string."""

    line: int  # 1-based line of the opening fence
    end: int  # 1-based line of the closing fence (or last line if unclosed)
    language: str
    info: str
    body: str


class _Problems:
    """Collects FormatProblems for one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[FormatProblem] = []

    def add(self, line: int, message: str, hint: str = "") -> None:
        self.items.append(FormatProblem(self.path, line, message, hint))


def parse_runbook(text: str, path: Path, rid: str) -> Runbook:
    """Parse runbook text; raise RunbookFormatError listing every problem found."""
    problems = _Problems(Path(path))
    lines = text.splitlines()
    header, body_start = _split_header(lines, problems)
    fields = _read_header(header, problems) if header is not None else {}
    kernel = fields.pop("kernel", KERNEL_NAME)
    cells = _read_cells(lines, body_start, kernel, problems)
    if problems.items:
        raise RunbookFormatError(sorted(problems.items, key=lambda p: p.line))
    return Runbook(id=rid, path=Path(path), kernel=kernel, cells=tuple(cells), **fields)


# --- header -------------------------------------------------------------------------------


def _split_header(lines: list[str], problems: _Problems) -> tuple[str | None, int]:
    """Return the YAML header text and the 0-based index of the first body line."""
    if not lines or lines[0].strip() != "---":
        problems.add(1, "no YAML header: a runbook starts with a `---` line and an `opsbook:` block",
                     "see docs/authoring.md for a minimal runbook header")
        return None, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), i + 1
    problems.add(1, "the YAML header is not closed", "end the header with a line holding only `---`")
    return None, len(lines)


def _read_header(header: str, problems: _Problems) -> dict[str, Any]:
    """Validate the header; return the Runbook fields it sets (plus "kernel")."""
    offset = 1  # header text starts on line 2 of the file
    try:
        root = yaml.compose(header, Loader=SafeLoader)
        data = yaml.load(header, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        # The construct that was left open (context) is where the author must look first.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 + offset if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        where = getattr(exc, "problem_mark", None)
        if context and where is not None and where.line + 1 + offset != line:
            problem += f" on line {where.line + 1 + offset} ({context} that starts here)"
        problems.add(line, f"malformed YAML header: {problem}",
                     "check indentation and quoting; strings containing `: ` or `#` need quotes")
        return {}
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        problems.add(2, "the YAML header must be a mapping with an `opsbook:` key")
        return {}
    _reject_yaml11_booleans(root, offset, problems)
    nodes = _mapping_nodes(root, offset, problems)
    fields: dict[str, Any] = {}
    for key in nodes:
        if key not in ("jupyter", "opsbook"):
            problems.add(nodes[key][0], f"unknown header key `{key}`",
                         "runbook settings go under `opsbook:`; jupytext's go under `jupyter:`")
    kernelspec = ((data.get("jupyter") or {}).get("kernelspec") or {}) if isinstance(data.get("jupyter"), dict) else {}
    kernel = kernelspec.get("name", KERNEL_NAME) if isinstance(kernelspec, dict) else KERNEL_NAME
    if kernel not in STEP_LANGUAGES:
        line = nodes.get("jupyter", (2, None))[0]
        problems.add(line, f"unknown kernel `{kernel}`",
                     f"use kernelspec name {', '.join(STEP_LANGUAGES)}")
        kernel = KERNEL_NAME
    fields["kernel"] = kernel
    if "opsbook" not in nodes:
        problems.add(2, "missing `opsbook:` block in the header", "add `opsbook:` with `format: 1` and `title:`")
        return fields
    line, node = nodes["opsbook"]
    if not isinstance(node, yaml.MappingNode):
        problems.add(line, "`opsbook:` must be a mapping of settings")
        return fields
    fields.update(_read_opsbook_block(data["opsbook"], _mapping_nodes(node, offset, problems), line, problems))
    return fields


def _mapping_nodes(node: yaml.MappingNode, offset: int, problems: _Problems) -> dict[str, tuple[int, yaml.Node]]:
    """Key → (line, value node) for a mapping node; duplicate keys are reported."""
    out: dict[str, tuple[int, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1 + offset
        if key in out:
            problems.add(line, f"duplicate key `{key}` (first on line {out[key][0]})", "keep one of them")
        out[key] = (line, value_node)
    return out


def _reject_yaml11_booleans(node: yaml.Node, offset: int, problems: _Problems) -> None:
    """`no`, `yes`, `on`, `off` silently become booleans in YAML 1.1; refuse them."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:bool" and not node.style and node.value.lower() in YAML11_BOOL_WORDS:
            problems.add(node.start_mark.line + 1 + offset,
                         f"`{node.value}` is read as a boolean by YAML 1.1",
                         f'write true or false, or quote it ("{node.value}") if you meant text')
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _reject_yaml11_booleans(k, offset, problems)
            _reject_yaml11_booleans(v, offset, problems)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_yaml11_booleans(item, offset, problems)


def _unknown_key(problems: _Problems, line: int, key: str, known: tuple[str, ...], where: str) -> None:
    problems.add(line, f"unknown key `{key}` in {where}", unknown_key_hint(key, known))


def _read_opsbook_block(data: dict[str, Any], nodes: dict[str, tuple[int, yaml.Node]],
                        block_line: int, problems: _Problems) -> dict[str, Any]:
    fields: dict[str, Any] = {}

    def line_of(key: str) -> int:
        return nodes[key][0] if key in nodes else block_line

    for key in nodes:
        if key not in HEADER_KEYS:
            _unknown_key(problems, nodes[key][0], key, HEADER_KEYS, "the `opsbook:` block")

    fmt = data.get("format")
    if fmt is None:
        problems.add(block_line, "missing `format:` in the `opsbook:` block", f"add `format: {FORMAT_VERSION}`")
    elif not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        problems.add(line_of("format"), f"`format` must be a whole number, not {fmt!r}", f"write `format: {FORMAT_VERSION}`")
    elif fmt > FORMAT_VERSION:
        problems.add(line_of("format"), f"runbook format {fmt} is newer than this opsbook reads (up to {FORMAT_VERSION})",
                     "upgrade opsbook (pip install -U opsbook) to run this runbook")

    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.add(line_of("title"), "missing or empty `title:`", "give the runbook a title an on-call engineer will search for")
    else:
        fields["title"] = title.strip()

    for key in ("summary", "owner", "scenario"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], str):
                problems.add(line_of(key), f"`{key}` must be text, not {type(data[key]).__name__}", "quote the value")
            else:
                fields[key] = data[key].strip()

    if "severity" in data:
        sev = str(data["severity"]).upper()
        if sev not in SEVERITIES:
            problems.add(line_of("severity"), f"unknown severity `{data['severity']}`", f"use one of {', '.join(SEVERITIES)}")
        else:
            fields["severity"] = sev

    for key in ("services", "alerts", "tags", "targets"):
        if key in data:
            values = string_list(data[key])
            if values is None:
                problems.add(line_of(key), f"`{key}` must be a list of names", f"write `{key}: [a, b]`")
            else:
                fields[key] = values
    for alert in fields.get("alerts", ()):
        if not ALERT_NAME.match(alert):
            problems.add(line_of("alerts"), f"{alert!r} is not a Prometheus alert name",
                         "alert names are letters, digits, `_` and `:`, not starting with a digit, "
                         "e.g. WorkerQueueBackedUp (promtool refuses any other)")

    if "timeout" in data:
        timeout = positive_int(data["timeout"])
        if timeout is None:
            problems.add(line_of("timeout"), f"`timeout` must be a positive number of seconds, not {data['timeout']!r}",
                         "write e.g. `timeout: 300`")
        else:
            fields["timeout"] = timeout

    if "params" in data:
        fields["params"] = _read_params(data["params"], nodes["params"][1], line_of("params"), problems)
    if "verify" in data:
        cases = _read_verify(data["verify"], nodes["verify"][1], line_of("verify"), problems)
        answered = set(fields.get("alerts", ()))
        for case in cases:
            stray = [a for a in case.alerts or () if a not in answered]
            if stray:
                problems.add(line_of("verify"), f"verify case `{case.name}` names {', '.join(stray)}, which the "
                             "runbook's `alerts:` does not list",
                             "a case's `alerts:` is the part of the runbook's alerts its fault fires: add them to "
                             "the header's `alerts:` or remove them from the case")
        if cases:
            fields["verify"] = cases
    return fields


def _node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 2  # +1 for 1-based, +1 for the `---` line


def _read_params(value: Any, node: yaml.Node, line: int, problems: _Problems) -> tuple[Param, ...]:
    if not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
        problems.add(line, "`params` must be a mapping of NAME: {default, help, secret}",
                     'write `params: {VERSION: {default: "1.1.0", help: "version to deploy"}}`')
        return ()
    params = []
    for key_node, spec_node in node.value:
        name = str(key_node.value)
        pline = _node_line(key_node)
        spec = value.get(name)
        if not PARAM_NAME.match(name):
            problems.add(pline, f"parameter name `{name}` is not an environment variable name",
                         "use UPPER_CASE letters, digits and underscores; steps see it as $NAME")
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            problems.add(pline, f"parameter `{name}` must be a mapping", "write `NAME: {default: ..., help: ...}`")
            continue
        for k, _ in spec.items():
            if k not in PARAM_KEYS:
                _unknown_key(problems, pline, str(k), PARAM_KEYS, f"parameter `{name}`")
        default = spec.get("default")
        if default is not None and not isinstance(default, (str, int, float)) or isinstance(default, bool):
            problems.add(pline, f"default of `{name}` must be text or a number", "quote the value")
            default = None
        secret = spec.get("secret", False)
        if not isinstance(secret, bool):
            problems.add(pline, f"`secret` of `{name}` must be true or false")
            secret = False
        params.append(Param(name=name, default=None if default is None else str(default),
                            help=str(spec.get("help") or ""), secret=secret))
    return tuple(params)


def _read_verify(value: Any, node: yaml.Node, line: int, problems: _Problems) -> tuple[VerifyCase, ...]:
    if not isinstance(value, list) or not isinstance(node, yaml.SequenceNode):
        problems.add(line, "`verify` must be a list of cases", "write `verify: [{case: good, params: {VERSION: \"1.1.0\"}}]`")
        return ()
    cases = []
    seen: set[str] = set()
    for item, item_node in zip(value, node.value):
        cline = _node_line(item_node)
        if not isinstance(item, dict) or not isinstance(item.get("case"), str):
            problems.add(cline, "each verify case needs a `case:` name", "write `- case: good-version`")
            continue
        for k in item:
            if k not in VERIFY_KEYS:
                _unknown_key(problems, cline, str(k), VERIFY_KEYS, "a verify case")
        name = item["case"]
        if name in seen:
            problems.add(cline, f"duplicate verify case `{name}`", "give each case its own name")
        seen.add(name)
        raw_params = item.get("params") or {}
        if not isinstance(raw_params, dict):
            problems.add(cline, f"`params` of verify case `{name}` must be a mapping")
            raw_params = {}
        scenario = item.get("scenario")
        alerts = None
        if "alerts" in item:
            alerts = string_list(item["alerts"])
            if alerts is None:
                problems.add(cline, f"`alerts` of verify case `{name}` must be a list of alert names",
                             "write `alerts: [DatabaseConnectionLost, HealthCheckFailing]`, or `alerts: []` for "
                             "a case whose fault fires none of them")
        within = None
        if "within" in item:
            within = positive_seconds(item["within"])
            if within is None:
                problems.add(_within_line(item_node, cline), f"`within` of verify case `{name}` must be a positive "
                             f"number of seconds, not {item['within']!r}",
                             "write e.g. `within: 120`: verification fails the case when its steps, from the "
                             "start of the first to the end of the last, take longer")
        cases.append(VerifyCase(name=name, params=tuple((str(k), str(v)) for k, v in raw_params.items()),
                                scenario=str(scenario) if scenario is not None else None, alerts=alerts,
                                within=within))
    return tuple(cases)


def positive_seconds(value: Any) -> float | None:
    """A number of seconds above zero (not a boolean, not text), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _within_line(item_node: yaml.Node, fallback: int) -> int:
    """The line of a verify case's `within:` key (the case's line if it cannot be found)."""
    if isinstance(item_node, yaml.MappingNode):
        for key_node, _ in item_node.value:
            if key_node.value == "within":
                return _node_line(key_node)
    return fallback


# --- body ---------------------------------------------------------------------------------


def scan_fences(lines: list[str], start: int) -> list[Fence]:
    """Every fenced block after the header, in order (a fence inside a fence is content)."""
    fences = []
    i = start
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or (m.group("fence")[0] == "`" and "`" in m.group("info")):
            i += 1
            continue
        marker = m.group("fence")
        info = m.group("info").strip()
        language = info.split(None, 1)[0].split("{", 1)[0] if info else ""
        body_lines = []
        j = i + 1
        while j < len(lines):
            close = FENCE.match(lines[j])
            if close and close.group("fence")[0] == marker[0] and len(close.group("fence")) >= len(marker) \
                    and not close.group("info").strip():
                break
            body_lines.append(lines[j])
            j += 1
        fences.append(Fence(line=i + 1, end=min(j + 1, len(lines)), language=language,
                             info=info[len(language):].strip(), body="\n".join(body_lines)))
        i = j + 1
    return fences


def _read_cells(lines: list[str], body_start: int, kernel: str, problems: _Problems) -> list[Cell]:
    step_language = STEP_LANGUAGES.get(kernel, "bash")
    fences = scan_fences(lines, body_start)
    steps: list[Fence] = []
    for fence in fences:
        if fence.language.lower() not in LANGUAGES_LOWER:
            continue
        if fence.language not in CODE_FENCE_LANGUAGES:
            # jupytext only sees these spellings as code (bash, BASH): ```Bash would be a step
            # here and Markdown in JupyterLab, so the two would disagree about what runs.
            problems.add(fence.line, f"```{fence.language} fence: languages are lower case (```{fence.language.lower()})",
                         f"write ```{fence.language.lower()}; jupytext does not read ```{fence.language} as a code cell")
            continue
        if fence.language.lower() != step_language:
            problems.add(fence.line, f"```{fence.language} fence: this runbook's kernel ({kernel}) runs only ```{step_language} steps",
                         f"write ```{step_language} to make it a step, or ```text / ```console for an example that must not run")
            continue
        steps.append(fence)
    skip = {f.line - 1: f.end for f in fences}  # 0-based first line of a fence → first line after it
    cells: list[Cell] = []
    names: dict[str, int] = {}
    prose_from = body_start  # 0-based index of the first line not yet placed in a cell
    prose = "\n".join(lines[body_start:steps[0].line - 1 if steps else len(lines)]).strip()
    intro = prose  # before the first step, all of it introduces the first step
    for index, fence in enumerate(steps, 1):
        if prose:
            cells.append(Prose(text=prose, line=prose_from + 1))
        # The prose up to the next step (or the end): this step's own up to the first heading,
        # from there the next step's introduction.
        until = steps[index].line - 1 if index < len(steps) else len(lines)
        following = "\n".join(lines[fence.end:until])
        next_prose = following.strip()
        after, next_intro = next_prose, ""
        if _MAY_HOLD_HEADING.search(following):
            heading = _first_heading(lines, fence.end, until, skip)
            if heading < until:
                after = "\n".join(lines[fence.end:heading]).strip()
                next_intro = "\n".join(lines[heading:until]).strip()
        options, name = read_step_options(_fence_metadata(fence, problems), index,
                                          functools.partial(problems.add, fence.line))
        if name in names:
            problems.add(fence.line, f"duplicate step name `{name}` (first on line {names[name]})",
                         "step names are anchors and record keys: make each one unique")
        names.setdefault(name, fence.line)
        if not fence.body.strip():
            problems.add(fence.line, f"step `{name}` has no command", "write the command inside the fence or remove it")
        cells.append(Step(index=index, name=name, language=step_language, source=fence.body, line=fence.line,
                          options=options, prose=prose, intro=intro, after=after))
        prose_from, prose, intro = fence.end, next_prose, next_intro
    if prose:  # after the last step
        cells.append(Prose(text=prose, line=prose_from + 1))
    return cells


_MAY_HOLD_HEADING = re.compile(r"^ {0,3}[#=-]", re.MULTILINE)
"""A cheap test that spares most prose the line-by-line search for a heading."""

ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
SETEXT_UNDERLINE = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")
NOT_A_PARAGRAPH = re.compile(r"(?: {4}|\t| {0,3}(?:[-*+](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)|[>|<]))")
"""Lines that start a list item, quote, table, HTML block or indented code: no setext heading."""


def _first_heading(lines: list[str], start: int, stop: int, skip: dict[int, int]) -> int:
    """0-based index of the first line of the first heading in lines[start:stop], `stop` if none.

    A heading is an ATX heading (`## Fix it`) or a paragraph underlined with `===` or `---`
    (setext), as CommonMark reads them; fenced blocks (`skip`) are passed over whole.
    """
    paragraph = -1  # first line of the paragraph being read; -1: none
    other_block = False  # inside a list, quote, table ... until the next blank line
    i = start
    while i < stop:
        if i in skip:
            i, paragraph, other_block = skip[i], -1, False
            continue
        line = lines[i]
        if not line.strip():
            paragraph, other_block = -1, False
        elif ATX_HEADING.match(line):
            return i
        elif SETEXT_UNDERLINE.match(line):
            if paragraph >= 0:
                return paragraph
            other_block = False  # a thematic break (`---` after a blank line)
        elif NOT_A_PARAGRAPH.match(line):
            paragraph, other_block = -1, True
        elif paragraph < 0 and not other_block:
            paragraph = i
        i += 1
    return stop


FAILURE_PARAGRAPH = re.compile(r" {0,3}(?:\*\*|__|\*|_)?\s*if this step fails\b", re.IGNORECASE)
_MENTIONS_FAILURE = re.compile(r"if this step fails", re.IGNORECASE)


def failure_help(after: str) -> str:
    """What a step's `after` prose says to do when the step fails: each paragraph that starts
    with "If this step fails" (bold or not), with the lists, quotes, tables and fenced blocks
    that follow it; all of `after` when no paragraph starts that way."""
    if not _MENTIONS_FAILURE.search(after):
        return after
    kept: list[str] = []
    keep = False
    for block in _blocks(after):
        if FAILURE_PARAGRAPH.match(block):
            keep = True
        elif not NOT_A_PARAGRAPH.match(block) and not FENCE.match(block.split("\n", 1)[0]):
            keep = False  # another paragraph: the failure advice ended
        if keep:
            kept.append(block)
    return "\n\n".join(kept) if kept else after


def _blocks(text: str) -> list[str]:
    """`text` split at blank lines, a fenced block (blank lines and all) staying in its block."""
    blocks: list[str] = []
    current: list[str] = []
    marker = ""
    for line in text.split("\n"):
        fence = FENCE.match(line)
        if marker:
            if fence and fence.group("fence")[0] == marker[0] and len(fence.group("fence")) >= len(marker) \
                    and not fence.group("info").strip():
                marker = ""
        elif fence and not (fence.group("fence")[0] == "`" and "`" in fence.group("info")):
            marker = fence.group("fence")
        elif not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _fence_metadata(fence: Fence, problems: _Problems) -> dict[str, Any]:
    """Step options read as jupytext reads them (see infostring), so `jupytext --to ipynb` agrees."""
    try:
        _, metadata = read_info_string(f"{fence.language} {fence.info}".strip())
    except Exception as exc:  # jupytext raises several types; all mean "cannot read"
        problems.add(fence.line, f"cannot read step options: {exc}",
                     'options are key=value with JSON values, e.g. name="restart-worker" timeout=60')
        return {}
    return dict(metadata)
