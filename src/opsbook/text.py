"""Helpers several stages share: terminal text, code fences, the one time and duration format, atomic writes.

Each helper exists once so that the transcript, JUnit, status.json, the terminal and the site
say the same thing the same way: a duration reads `2 min 05 s` everywhere, a timestamp is
written by `utc_now()` and shown by `format_time()`, and every file that a reader may open
while it is being rewritten is replaced with `write_atomically()`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

# CSI sequences (colours, cursor moves), OSC sequences (window title, clipboard, hyperlinks)
# ended by BEL or ST, and the two-character escapes.
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Everything a terminal may act on besides printing: C0 controls but tab and newline, DEL, and
# the C1 controls (U+0080-U+009F: 8-bit CSI and OSC among them).
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# --- terminal text --------------------------------------------------------------------------


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences."""
    return ANSI.sub("", text)


def terminal_text(text: str) -> str:
    """Output as a terminal showed it: escapes and control codes gone, ``\\r`` overwrites applied."""
    text = strip_ansi(text).replace("\r\n", "\n")
    if "\r" in text:
        text = "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line else line for line in text.split("\n"))
    return _CONTROL.sub("", text)


def printable(text: str) -> str:
    """Author text (a title, prose, a name) made safe to print: no escape sequence, no control
    character a terminal would act on (window title, clipboard, cursor moves); tabs and newlines stay."""
    return _UNPRINTABLE.sub("", strip_ansi(text))


_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_KEEP_SGR = re.compile(r"(\x1b\[[0-9;:]*m)")


def live_output(text: str) -> str:
    """A command's output as opsbook shows it live: colours (SGR) and carriage returns kept; every
    other escape (window title, clipboard, cursor moves, hyperlinks) and control character dropped."""
    pieces = _KEEP_SGR.split(text)
    return "".join(piece if _SGR.fullmatch(piece) else
                   _UNPRINTABLE.sub(lambda m: m.group(0) if m.group(0) == "\r" else "", strip_ansi(piece))
                   for piece in pieces)


# --- code fences ----------------------------------------------------------------------------


def fence_for(text: str, char: str = "`") -> str:
    """A code fence longer than any run of ``char`` in ``text`` (at least three)."""
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", text)), default=0)
    return char * max(3, longest + 1)


def fenced(text: str, info: str = "") -> str:
    """``text`` as a fenced code block that nothing inside it can close (ends with a newline)."""
    fence = fence_for(text)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{info}\n{body}{fence}\n"


_CELL_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f\x9b]")
_CELL_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;"}
_CELL_SPECIAL = re.compile(r"([\\`*_\[\]#~!])")


def markdown_cell(text: str) -> str:
    """Plain text safe in a Markdown table cell: one line, no HTML, no emphasis, no link."""
    text = _CELL_CONTROL.sub("", str(text)).replace("\r", " ").replace("\n", " ").strip()
    text = _CELL_SPECIAL.sub(r"\\\1", text)
    return "".join(_CELL_ENTITIES.get(c, c) for c in text)


# Markdown links: `[text](target "title")` (and images), `[id]: target`, and the code spans they
# must not be looked for in.
MD_INLINE_LINK = re.compile(r"(!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*)(<[^>\n]*>|[^)\s]+)((?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\))")
MD_REFERENCE_LINK = re.compile(r"^(\s{0,3}\[[^\]]+\]:\s*)(<[^>]*>|\S+)(.*)$")
MD_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
# The end of a link whose text began on an earlier line: `waits](../database/locks.md)`.
MD_LINK_TAIL = re.compile(r"^([^\[\]`]*\]\(\s*)(<[^>\n]*>|[^)\s]+)((?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\))")


def rewrite_link_targets(line: str, rewrite: Callable[[str], str]) -> str:
    """One line of Markdown with every link target passed through `rewrite` (a `<target>` without its
    angle brackets), the target of a link whose text began on the line before included; targets
    inside code spans are not links and are left alone."""

    def target(href: str) -> str:
        if href.startswith("<") and href.endswith(">"):
            return f"<{rewrite(href[1:-1])}>"
        return rewrite(href)

    reference = MD_REFERENCE_LINK.match(line)
    if reference:
        return reference.group(1) + target(reference.group(2)) + reference.group(3)
    out: list[str] = []
    last = 0
    tail = MD_LINK_TAIL.match(line)
    if tail:
        out.append(tail.group(1) + target(tail.group(2)) + tail.group(3))
        last = tail.end()
    for span in MD_CODE_SPAN.finditer(line, last):
        out.append(MD_INLINE_LINK.sub(lambda m: m.group(1) + target(m.group(2)) + m.group(3), line[last:span.start()]))
        out.append(span.group(0))
        last = span.end()
    out.append(MD_INLINE_LINK.sub(lambda m: m.group(1) + target(m.group(2)) + m.group(3), line[last:]))
    return "".join(out)


# --- time -----------------------------------------------------------------------------------


def utc_now() -> str:
    """Now, as every record stores it: UTC ISO 8601 with milliseconds, ``2026-11-26T20:15:03.042Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime (a naive one is taken as UTC); ValueError if it is not one."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime | str | None, *, clock_only: bool = False) -> str:
    """``2026-11-26 20:15:03 UTC`` (or ``20:15:03``); a text that is not a timestamp is shown as it is."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        try:
            when = parse_time(moment)
        except ValueError:
            return moment
    else:
        when = moment.astimezone(timezone.utc)
    return when.strftime("%H:%M:%S" if clock_only else "%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: float | None) -> str:
    """``0.42 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


# --- files ----------------------------------------------------------------------------------


def write_atomically(path: Path, text: str, *, mode: int | None = None) -> Path:
    """Replace ``path`` with ``text`` so that readers see the old file or the new one, never half.

    The temporary file (``.NAME.XXXX.tmp`` beside ``path``) is renamed over ``path``; that
    survives the writer being killed. There is no fsync: files that must survive a machine
    crash are rebuilt from the fsynced event log. ``mode`` sets the permissions before the
    file appears under its name (0o600 for files that hold credentials).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return path


def stale_temporaries(path: Path) -> list[Path]:
    """Temporary files of ``write_atomically(path)`` left by a process killed before the rename."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def display_path(path: Path, root: Path) -> str:
    """``path`` as a reader of the project knows it: relative to ``root`` when inside it."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)
