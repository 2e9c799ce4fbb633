"""Which shell variables a step sets and which it reads: a conservative static scan of its bash.

`opsbook run --from` / `--step` needs to know which step sets a variable another step uses, and
`opsbook lint` warns when a step reads a variable that only an earlier step sets. Neither needs
a bash parser: this module reads a step the way a careful reviewer does, line by line, and
errs on the side of saying less.

A step *sets* NAME when, at the start of a command, it writes `NAME=...` (or `NAME+=`,
`NAME[i]=`), `export NAME=...`, `declare`/`typeset`/`readonly [-flags] NAME=...`, `read [-r ...]
NAME...`, `mapfile`/`readarray NAME`, `printf -v NAME`, `getopts SPEC NAME` or `for NAME in`.
`local NAME` makes NAME the function's own: it is neither set for later steps nor read from them.

A step *reads* NAME when `$NAME`, `${NAME}`, `${NAME:?...}`, `${#NAME}` or `${!NAME}` appears
outside single quotes, comments and quoted here-documents. A reference that supplies its own
default (`${NAME:-x}`, `${NAME-x}`, `${NAME:=x}`, `${NAME:+x}`) copes with NAME unset and is
marked `optional`. Special parameters (`$1`, `$?`, `$#`, `$@`, `$$` ...) are never names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""A shell variable name."""

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(rf"\$(?:(?P<plain>{_NAME})|\{{(?P<prefix>[#!]?)(?P<braced>{_NAME})(?P<operator>:?[-=+?])?)")
_HEREDOC = re.compile(r"<<(?!<)(?P<dash>-?)[ \t]*(?P<quote>['\"]?)(?P<backslash>\\?)(?P<word>[A-Za-z0-9_.-]+)(?P=quote)")
_COMMAND_START = re.compile(r"(?:^|(?<=[;&|(){}!\n]))[ \t]*|\b(?:then|do|else|elif|if|while|until|time)[ \t]+")
_ASSIGNMENT = re.compile(rf"(?P<name>{_NAME})(?:\[[^\]\s]*\])?\+?=")
_WORD = re.compile(r"\S+")
_DECLARERS = frozenset({"export", "declare", "typeset", "readonly"})
_READ_OPTIONS_WITH_ARGUMENT = frozenset("dinNptu")


@dataclass(frozen=True)
class Use:
    """One reference to a variable in a step: `$NAME` or `${NAME...}`."""

    name: str
    line: int  # 1-based line of the step's source
    offset: int  # character offset in the source, to compare with where the step sets it
    optional: bool  # the reference gives its own default: the step copes with NAME unset


@dataclass(frozen=True)
class StepVariables:
    """What one step does with shell variables."""

    sets: dict[str, int]  # name → offset of the first place the step sets it
    reads: tuple[Use, ...]  # every reference, in source order
    local: frozenset[str]  # names declared `local` (a function's own)

    def needs_from_before(self) -> tuple[Use, ...]:
        """The references that must find NAME set before the step starts: not optional, not
        `local`, and not after the step has set NAME itself. The first reference of each name."""
        seen: set[str] = set()
        uses = []
        for use in self.reads:
            if use.optional or use.name in self.local or use.name in seen:
                continue
            first_set = self.sets.get(use.name)
            if first_set is not None and first_set < use.offset:
                continue
            seen.add(use.name)
            uses.append(use)
        return tuple(uses)


@functools.lru_cache(maxsize=4096)
def step_variables(source: str) -> StepVariables:
    """Scan one step's bash source (cached: lint and the runner both ask)."""
    code, reads = _lex(source)
    sets: dict[str, int] = {}
    local: set[str] = set()
    for start in _COMMAND_START.finditer(code):
        _command(code, start.end(), sets, local)
    for name in local:
        sets.pop(name, None)
    return StepVariables(sets=sets, reads=tuple(reads), local=frozenset(local))


def names_set_by(sources: Iterable[str]) -> set[str]:
    """Every variable that any of these step sources sets."""
    names: set[str] = set()
    for source in sources:
        names.update(step_variables(source).sets)
    return names


# --- the scan ------------------------------------------------------------------------------


def _lex(source: str) -> tuple[str, list[Use]]:
    """The source with the inside of quotes, comments and here-documents blanked out (same length,
    so offsets agree), and every variable reference that bash would expand."""
    out = list(source)
    reads: list[Use] = []
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", source)]

    def line_of(offset: int) -> int:
        lo, hi = 0, len(line_starts)
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid
        return lo + 1

    def reference(at: int) -> int:
        """Record the reference starting at source[at] == "$"; return where scanning goes on."""
        m = _REFERENCE.match(source, at)
        if m is None:
            return at + 1
        name = m.group("plain") or m.group("braced")
        operator = m.group("operator") or ""
        optional = bool(operator) and not operator.endswith("?") and not m.group("prefix")
        reads.append(Use(name=name, line=line_of(at), offset=at, optional=optional))
        return m.end()

    def blank(start: int, end: int) -> None:
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = "_"

    heredocs: list[tuple[str, bool, bool]] = []  # (delimiter, expands, strip tabs)
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "\\":
            i += 2
        elif c == "'":
            end = source.find("'", i + 1)
            end = n if end < 0 else end
            blank(i + 1, end)
            i = end + 1
        elif c == "$" and source.startswith("$'", i):
            end = _ansi_c_end(source, i + 2)
            blank(i + 2, end)
            i = end + 1
        elif c == '"':
            end = _double_quoted(source, i + 1, reference)
            blank(i + 1, end)
            i = end + 1
        elif c == "$":
            i = reference(i)
        elif c == "#" and (i == 0 or source[i - 1] in " \t\n;&|()"):
            end = source.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif c == "<" and source.startswith("<<", i):
            m = _HEREDOC.match(source, i)
            if m:
                expands = not m.group("quote") and not m.group("backslash")
                heredocs.append((m.group("word"), expands, bool(m.group("dash"))))
                i = m.end()
            else:
                i += 2 if not source.startswith("<<<", i) else 3
        elif c == "\n" and heredocs:
            i = _heredoc_bodies(source, i + 1, heredocs, reference, blank)
            heredocs = []
        else:
            i += 1
    return "".join(out), reads


def _ansi_c_end(source: str, i: int) -> int:
    while i < len(source):
        if source[i] == "\\":
            i += 2
        elif source[i] == "'":
            return i
        else:
            i += 1
    return len(source)


def _double_quoted(source: str, i: int, reference: Callable[[int], int]) -> int:
    """Index of the closing quote of a string opened before `i`, references recorded on the way."""
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i
        elif c == "$":
            i = reference(i)
        else:
            i += 1
    return len(source)


def _heredoc_bodies(source: str, i: int, heredocs: list[tuple[str, bool, bool]],
                    reference: Callable[[int], int], blank: Callable[[int, int], None]) -> int:
    """Skip the bodies of the here-documents opened on the line before `i`; return the index
    after the last delimiter line."""
    for word, expands, strip_tabs in heredocs:
        while i < len(source):
            end = source.find("\n", i)
            end = len(source) if end < 0 else end
            line = source[i:end]
            if (line.lstrip("\t") if strip_tabs else line) == word:
                blank(i, end)
                i = end + 1
                break
            if expands:
                k = i
                while k < end:
                    if source[k] == "\\":
                        k += 2
                    elif source[k] == "$":
                        k = reference(k)
                    else:
                        k += 1
            blank(i, end)
            i = end + 1
    return i


def _command(code: str, at: int, sets: dict[str, int], local: set[str]) -> None:
    """Read one simple command at `at` of the blanked code: its prefix assignments, and the
    variables its command word sets."""
    words = []
    end = code.find("\n", at)
    end = len(code) if end < 0 else end
    for m in _WORD.finditer(code, at, end):
        word = m.group(0)
        stop = re.search(r"[;&|()]", word)
        if stop:
            if stop.start():
                words.append((m.start(), word[:stop.start()]))
            break
        words.append((m.start(), word))
    k = 0
    while k < len(words):  # prefix assignments: A=1 B=2 cmd
        offset, word = words[k]
        assignment = _ASSIGNMENT.match(word)
        if assignment is None:
            break
        sets.setdefault(assignment.group("name"), offset)
        k += 1
    if k >= len(words):
        return
    command, rest = words[k][1], words[k + 1:]
    if command == "local":
        for _, word in rest:
            name = word.split("=", 1)[0]
            if NAME.match(name):
                local.add(name)
    elif command in _DECLARERS:
        for offset, word in rest:
            assignment = _ASSIGNMENT.match(word)
            if assignment is not None:
                sets.setdefault(assignment.group("name"), offset)
    elif command == "read":
        _read_names(rest, sets)
    elif command in ("mapfile", "readarray"):
        names = [(o, w) for o, w in rest if NAME.match(w)]
        if names:
            sets.setdefault(names[-1][1], names[-1][0])
    elif command == "printf" and len(rest) >= 2 and rest[0][1] == "-v" and NAME.match(rest[1][1]):
        sets.setdefault(rest[1][1], rest[1][0])
    elif command == "getopts" and len(rest) >= 2 and NAME.match(rest[1][1]):
        sets.setdefault(rest[1][1], rest[1][0])
    elif command in ("for", "select") and rest and NAME.match(rest[0][1]):
        sets.setdefault(rest[0][1], rest[0][0])


def _read_names(words: list[tuple[int, str]], sets: dict[str, int]) -> None:
    k = 0
    while k < len(words):
        offset, word = words[k]
        if word == "--":
            k += 1
            break
        if not word.startswith("-") or word == "-":
            break
        flags = word[1:]
        if "a" in flags and k + 1 < len(words) and flags.endswith("a"):
            if NAME.match(words[k + 1][1]):
                sets.setdefault(words[k + 1][1], words[k + 1][0])
            k += 2
            continue
        k += 2 if flags[-1:] in _READ_OPTIONS_WITH_ARGUMENT else 1
    for offset, word in words[k:]:
        if not NAME.match(word):
            break
        sets.setdefault(word, offset)
