"""A fence's info string (```bash name="restart" timeout=60) read exactly as jupytext reads it.

jupytext is the format's reference: its Markdown reader decides which fences are code cells and
what their metadata is, and JupyterLab opens a runbook through it. Importing jupytext costs a
quarter of a second (it loads nbformat and jsonschema), more than a whole `opsbook list` may
take, so the same grammar is read here; tests/runbook/test_infostring.py holds it to jupytext's
own answers on every runbook and on a corpus of awkward info strings.

The grammar: an optional language, then either a JSON object (`{"name": "x"}`) or
`key=value` pairs whose values are JSON (or Python literals), a bare key meaning None; pairs
are found from the right, so a value may itself contain spaces and `=`.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from typing import Any

JUPYTEXT_LANGUAGES = frozenset({
    "R", "bash", "c#", "c++", "clojure", "coconut", "cs", "csharp", "cython", "f#", "fs", "fsharp", "gnuplot",
    "go", "groovy", "haskell", "html", "idl", "java", "javascript", "jenner", "js", "julia", "latex", "logtalk",
    "lua", "markdown", "matlab", "maxima", "ocaml", "octave", "perl", "powershell", "pypy", "python", "python2",
    "python3", "q", "robotframework", "ruby", "rust", "sage", "sas", "scala", "scheme", "script", "sh", "sos",
    "spark", "sql", "stata", "svg", "tcl", "typescript", "wolfram language", "xonsh",
})
"""The kernel languages jupytext knows."""

CODE_FENCE_LANGUAGES = JUPYTEXT_LANGUAGES | {language.upper() for language in JUPYTEXT_LANGUAGES}
"""Fence languages that jupytext reads as code cells: as spelled above, or in upper case (```BASH,
not ```Bash); every other fence is Markdown."""

UNREADABLE = "incorrectly_encoded_metadata"
"""The key under which jupytext keeps options it cannot read."""

LANGUAGES_LOWER = frozenset(language.lower() for language in JUPYTEXT_LANGUAGES)
"""The same, in lower case: what a fence names when it is meant as code, whatever its spelling."""
_BARE_KEY = re.compile(r"^[a-zA-Z_.]+[a-zA-Z0-9_.]*$")
_KEY = re.compile(r"^[a-zA-Z0-9_.@/-]+$")


def read_info_string(text: str) -> tuple[str, dict[str, Any]]:
    """(language, metadata) of a fence's info string, as jupytext's `text_to_metadata` gives them."""
    text = text.strip()
    brace, equals = text.find("{"), text.find("=")
    if brace >= 0 and not 0 <= equals < brace:
        metadata = _value(text[brace:], lenient=True)
        return text[:brace].strip(), metadata
    if _is_language(text):
        return text, {}
    if " " not in text:
        return "", key_values(text)
    language, rest = text.split(" ", 1)
    if _is_language(language):
        return language, key_values(rest)
    return "", key_values(text)


def key_values(text: str) -> dict[str, Any]:
    """`key1=value1 key2 key3="value 3"` → {"key1": value1, "key2": None, "key3": "value 3"}."""
    text = text.strip()
    if not text:
        return {}
    before, last = text.rsplit(" ", 1) if " " in text else ("", text)
    if not text.startswith("--") and _BARE_KEY.match(last):
        metadata: dict[str, Any] = {last: None}
        metadata.update(key_values(before) if before else {})  # an earlier `key=value` of the same key wins
        return metadata
    end: int | None = None
    while True:
        equals = text.rfind("=", None, end)
        if equals < 0:
            return {UNREADABLE: text}
        end = equals
        left = text[:equals].rstrip()
        space = left.rfind(" ")
        key = text[space + 1:equals].strip()
        if not _KEY.match(key):
            continue
        try:
            value = _value(text[equals + 1:])
        except (ValueError, SyntaxError):
            continue  # the value may start at an earlier `=`
        pairs = key_values(text[:space]) if space > 0 else {}
        pairs[key] = value
        return pairs


def _is_language(text: str) -> bool:
    return text.lower() in LANGUAGES_LOWER


def _value(text: str, lenient: bool = False) -> Any:
    """JSON, else a Python literal; unreadable text raises, or is kept as such when `lenient`."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    if not lenient:
        return _literal(text)
    try:
        return _literal(text)
    except (ValueError, SyntaxError):
        return {UNREADABLE: text}


def _literal(text: str) -> Any:
    """A Python literal, read without printing Python's warnings (`"\\w"` in a quoted value is
    an invalid escape: `opsbook lint` says so, with the line, instead of a DeprecationWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.literal_eval(text)
