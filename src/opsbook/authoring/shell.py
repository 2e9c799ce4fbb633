"""Shell text pasted into Markdown, read as commands: quoting contexts, prompts and pasted output
apart, `<placeholders>` as parameters, variables nothing sets.

`opsbook import` uses it to turn a runbook's ```shell / ```console blocks into steps; what a
command does is `commands`' business. Everything here is a careful reading of text, not a bash
parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

PROMPT = re.compile(r"^\s*\$(?: |$)")
"""A `$ ` prompt starts a command in a pasted session (`# ` is not one: it is also a comment)."""
CONTINUATION_PROMPT = re.compile(r"^\s*>(?: |$)")
PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z0-9_.-]*(?: [A-Za-z0-9_.-]+){0,3})>")
NOT_PLACEHOLDERS = {"none", "nil", "null", "unknown", "pending"}  # what kubectl and friends print in <...>
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[}:#%/^,@-]|([A-Za-z_][A-Za-z0-9_]*))")
ASSIGNMENT = re.compile(r"(?:^|[\s;&|(])(?:export\s+|local\s+|declare\s+(?:-\w+\s+)*|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)\+?=")
LOOP_OR_READ = re.compile(r"\b(?:for|select)\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b|\bread\s+(?:-\w+\s+\S+\s+|-\w+\s+)*([A-Za-z_][A-Za-z0-9_ ]*)")

RESERVED_NAMES = {
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TERM", "LANG", "IFS", "HOSTNAME", "UID",
    "EUID", "PPID", "RANDOM", "SECONDS", "LINENO", "OPTARG", "OPTIND", "PS1", "PS2", "PS3", "PS4", "TMPDIR",
    "EDITOR", "PAGER", "MAIL", "HISTFILE", "PIPESTATUS", "REPLY", "COLUMNS", "LINES",
}
"""Names a placeholder must not take as its parameter: the shell and the tools it runs rely on them."""
KNOWN_ENVIRONMENT = RESERVED_NAMES | {"KUBECONFIG", "COMPOSE", "COMPOSE_PROJECT_NAME", "DOCKER_HOST", "LC_ALL"}
"""Variables a step may use without setting them (besides `*_URL` target variables and `OPSBOOK_*`)."""


class Context(str, Enum):
    """Where a character of shell text is, for the purpose of rewriting or reading it."""

    PLAIN = "plain"
    SINGLE = "single"  # inside '...'
    DOUBLE = "double"  # inside "..."
    COMMENT = "comment"
    HEREDOC = "heredoc"  # body of an unquoted here-document (expands $VAR)
    HEREDOC_QUOTED = "heredoc-quoted"  # body of <<'EOF': nothing expands


@dataclass(frozen=True)
class Scan:
    """The context of every character of a text, and what is still open at its end."""

    contexts: tuple[Context, ...]
    open_quote: bool
    pending_heredoc: bool
    trailing_backslash: bool


_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


def scan(text: str) -> Scan:
    """Label each character of `text` with its quoting context (a careful approximation of bash)."""
    contexts: list[Context] = []
    state = Context.PLAIN
    heredocs: list[tuple[str, bool, bool]] = []  # (delimiter, strip tabs, quoted) opened on this line
    body: tuple[str, bool, bool] | None = None
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if body is not None:
            delimiter, strip_tabs, quoted = body
            contexts.extend([Context.HEREDOC_QUOTED if quoted else Context.HEREDOC] * len(line))
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                body = heredocs.pop(0) if heredocs else None
            if number < len(lines) - 1:
                contexts.append(Context.PLAIN)
            continue
        i = 0
        while i < len(line):
            char = line[i]
            if state is Context.SINGLE:
                contexts.append(state)
                if char == "'":
                    state = Context.PLAIN
            elif state is Context.DOUBLE:
                contexts.append(state)
                if char == "\\" and i + 1 < len(line):
                    contexts.append(state)
                    i += 1
                elif char == '"':
                    state = Context.PLAIN
            elif char == "#" and (i == 0 or line[i - 1] in " \t;|&()"):
                contexts.extend([Context.COMMENT] * (len(line) - i))
                break
            else:
                contexts.append(Context.PLAIN)
                if char == "\\" and i + 1 < len(line):
                    contexts.append(Context.PLAIN)
                    i += 1
                elif char == "'":
                    contexts[-1] = Context.SINGLE
                    state = Context.SINGLE
                elif char == '"':
                    contexts[-1] = Context.DOUBLE
                    state = Context.DOUBLE
                elif char == "<" and line.startswith("<<", i) and not line.startswith("<<<", i):
                    m = _HEREDOC.match(line, i)
                    if m:
                        heredocs.append((m.group(3), m.group(1) == "-", bool(m.group(2))))
                        contexts.extend([Context.PLAIN] * (m.end() - i - 1))
                        i = m.end() - 1
            i += 1
        if heredocs and state is Context.PLAIN:
            body = heredocs.pop(0)
        if number < len(lines) - 1:
            contexts.append(state if state in (Context.SINGLE, Context.DOUBLE) else Context.PLAIN)
    last = lines[-1] if lines else ""
    return Scan(contexts=tuple(contexts), open_quote=state in (Context.SINGLE, Context.DOUBLE),
                pending_heredoc=body is not None or bool(heredocs),
                trailing_backslash=body is None and last.endswith("\\") and not last.endswith("\\\\"))


# --- pasted sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A run of lines of a shell block: commands to run, or output that was pasted after them."""

    kind: str  # "command" | "output"
    text: str


def has_prompts(block: str) -> bool:
    """Whether the block is a pasted session (`$ command` lines) rather than a plain script."""
    return any(PROMPT.match(line) for line in block.splitlines())


def _continues(command: str) -> bool:
    """Whether a command typed so far goes on on the next line (`\\`, `|`, `&&`, an open quote...)."""
    state = scan(command)
    stripped = command.rstrip()
    return state.trailing_backslash or state.open_quote or state.pending_heredoc \
        or stripped.endswith(("|", "&&", "||")) and not stripped.endswith("\\|")


def _without_continuation_prompts(lines: list[str]) -> str:
    """A command typed over several lines, without bash's `> ` prompt on the lines after the first.

    Only when every such line has it: a line of its own starting with `>` is a redirect.
    """
    rest = lines[1:]
    if rest and all(CONTINUATION_PROMPT.match(line) for line in rest):
        rest = [CONTINUATION_PROMPT.sub("", line, count=1) for line in rest]
    return "\n".join([lines[0], *rest])


def split_session(block: str) -> list[Segment]:
    """A pasted session as command and output segments, prompts stripped, continuation lines kept.

    Consecutive commands with no output between them form one segment; the output after them,
    up to the next prompt, is the next one. A block without prompts is one command segment.
    """
    if not has_prompts(block):
        return [Segment("command", block.strip("\n"))] if block.strip() else []
    segments: list[Segment] = []
    commands: list[str] = []
    output: list[str] = []
    current: list[str] | None = None  # lines of the command being typed

    def flush_output() -> None:
        if output and any(line.strip() for line in output):
            segments.append(Segment("output", "\n".join(output).strip("\n")))
        output.clear()

    def flush_commands() -> None:
        if commands:
            segments.append(Segment("command", "\n".join(commands)))
        commands.clear()

    for line in block.splitlines():
        if current is not None:
            current.append(line)
        elif PROMPT.match(line):
            if output:
                flush_output()
            current = [PROMPT.sub("", line, count=1)]
        else:
            if commands:
                flush_commands()
            output.append(line)
            continue
        text = _without_continuation_prompts(current)
        if not _continues(text):
            if text.strip():
                commands.append(text)
            current = None
    if current is not None and "\n".join(current).strip():
        commands.append(_without_continuation_prompts(current))
    flush_commands()
    flush_output()
    # output before the first prompt (a banner, a note) is output too: it stays where it was
    return segments


# --- placeholders -------------------------------------------------------------------------------


def param_name(placeholder: str) -> str:
    """`<pod-name>` → `POD_NAME`; never a name the shell relies on (`<path>` → `PATH_VALUE`)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", placeholder).strip("_").upper()
    if name[:1].isdigit():
        name = "P_" + name
    if name in RESERVED_NAMES or name.startswith(("OPSBOOK_", "BASH")):
        name += "_VALUE"
    return name


@dataclass(frozen=True)
class Placeholders:
    """A command with its `<placeholders>` replaced by parameters, and the parameters it uses."""

    command: str
    params: tuple[tuple[str, str], ...]  # (NAME, placeholder text) in order of first use


def replace_placeholders(command: str) -> Placeholders:
    """`kubectl -n <namespace> get pod <pod>` → `kubectl -n "$NAMESPACE" get pod "$POD"`.

    Quoted as its place needs: `"$NAME"` in plain words, `${NAME}` inside double quotes and
    unquoted here-documents, `'"$NAME"'` inside single quotes. Placeholders in comments and in
    quoted here-documents stay as they are (nothing would expand them).
    """
    contexts = scan(command).contexts
    params: dict[str, str] = {}
    out: list[str] = []
    last = 0
    for m in PLACEHOLDER.finditer(command):
        if m.group(1).lower() in NOT_PLACEHOLDERS:
            continue
        context = contexts[m.start()] if m.start() < len(contexts) else Context.PLAIN
        name = param_name(m.group(1))
        if context is Context.PLAIN:
            replacement = f'"${name}"'
        elif context in (Context.DOUBLE, Context.HEREDOC):
            replacement = f"${{{name}}}"
        elif context is Context.SINGLE:
            replacement = f"'\"${name}\"'"
        else:
            continue
        params.setdefault(name, m.group(1))
        out.append(command[last:m.start()])
        out.append(replacement)
        last = m.end()
    out.append(command[last:])
    return Placeholders("".join(out), tuple(params.items()))


def unset_variables(commands: list[str], declared: set[str]) -> list[str]:
    """UPPER_CASE variables the commands read that none of them sets and no parameter declares."""
    assigned = set(declared)
    for command in commands:
        assigned.update(m.group(1) for m in ASSIGNMENT.finditer(command))
        for m in LOOP_OR_READ.finditer(command):
            assigned.update((m.group(1) or m.group(2) or "").split())
    used: list[str] = []
    for command in commands:
        contexts = scan(command).contexts
        for m in VARIABLE.finditer(command):
            name = m.group(1) or m.group(2)
            where = contexts[m.start()] if m.start() < len(contexts) else Context.PLAIN
            if where in (Context.SINGLE, Context.COMMENT, Context.HEREDOC_QUOTED) or name != name.upper():
                continue
            if name in assigned or name in KNOWN_ENVIRONMENT or name.endswith("_URL") or name.startswith("OPSBOOK_") \
                    or name in used:
                continue
            used.append(name)
    return used


# --- names ----------------------------------------------------------------------------------------


def kebab(text: str) -> str:
    """`KubePodCrashLooping` → `kube-pod-crash-looping`, `Check the DB!` → `check-the-db`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
