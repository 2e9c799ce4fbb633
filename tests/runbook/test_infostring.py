"""The info-string reader gives jupytext's own answers: on every fence of every runbook, and on a
corpus of awkward info strings. If jupytext changes its grammar, this test says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupytext.cell_metadata import text_to_metadata
from jupytext.languages import _JUPYTER_LANGUAGES, _JUPYTER_LANGUAGES_LOWER_AND_UPPER

from opsbook.runbook.infostring import CODE_FENCE_LANGUAGES, JUPYTEXT_LANGUAGES, read_info_string
from opsbook.runbook.parse import scan_fences
from tests.support import REPO

CORPUS = [
    "bash", "bash ", "BASH", "Bash", "bash name=\"x\"", 'bash name="restart-worker" timeout=60 role="remediate"',
    'bash name="a" output="^ok$" not_output="ERROR|FATAL"', 'bash name="a" retry={"attempts": 5, "delay": 10}',
    'bash name="a" retry="5x10s"', 'bash name="a" targets=["sandbox", "staging"]', "bash destructive",
    'bash name="a" destructive', 'bash name="a" destructive=true', 'bash name="a" ci="skip: needs prod DNS"',
    "bash name=restart", "bash name='single'", 'bash name="spaces in value"', 'bash name="eq=inside=value"',
    'bash name="x" name="y"', 'bash name="x" name', 'bash {"name": "json-form", "timeout": 5}',
    'bash {"name": broken', "bash {not json}", 'bash name="a" {"b": 1}', "bash =", "bash ==", "bash a=",
    'bash a="unterminated', "bash a=1 b=2 c=3", "bash a=None b=True c=(1, 2)", "bash --flag", "bash -- a=1",
    "bash key.with.dots=1", "bash k@y/path-x=2", "bash name=\"a\"  timeout=60", 'bash name="é ünïcode ✓"',
    'bash output="\\\\d+"', 'bash output="\\d+"', "python name=\"py\"", "sh name=\"x\"", "R", "r", "sql",
    "text", "console", "shell name=\"x\"", "name=\"no-language\"", "{\"name\": \"only-json\"}", "",
    "bash name=\"a\" timeout=1e3", "bash name=\"a\" expect=-1", "bash name=\"a\" retry={'attempts': 2}",
    "wolfram language x=1", "c# a=1", "bash a={\"x\": {\"y\": [1, 2, {\"z\": \"=\"}]}} b=2",
    'bash name="rollback-if-unhealthy" role="rollback" needs=["PREVIOUS_VERSION","DEPLOY_HEALTHY"]',
    'bash name="a" needs=["A", "B"] timeout=5', 'bash name="a" needs="A"', "bash name=\"a\" needs=[]",
    "bash name=\"a\" needs=['A']", 'bash {"name": "a", "needs": ["A"]}', 'bash name="a" needs',
]


def outcome(read, text: str) -> object:
    try:
        return read(text)
    except Exception as exc:  # both must fail alike
        return type(exc).__name__


@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
@pytest.mark.parametrize("text", CORPUS)
def test_awkward_info_strings_read_as_jupytext_reads_them(text: str) -> None:
    assert outcome(read_info_string, text) == outcome(text_to_metadata, text)


def test_every_fence_of_every_runbook_reads_as_jupytext_reads_it() -> None:
    infos = set()
    for path in sorted((REPO / "runbooks").rglob("*.md")) + sorted((REPO / "tests").rglob("*.md")):
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        infos.update(f"{f.language} {f.info}".strip() for f in scan_fences(lines, 0))
    assert len(infos) > 20
    for text in sorted(infos):
        assert outcome(read_info_string, text) == outcome(text_to_metadata, text), text


def test_the_languages_are_jupytexts() -> None:
    assert JUPYTEXT_LANGUAGES == frozenset(_JUPYTER_LANGUAGES)
    assert CODE_FENCE_LANGUAGES == frozenset(_JUPYTER_LANGUAGES_LOWER_AND_UPPER)


def test_listing_runbooks_does_not_import_jupytext(tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = ("import sys; from opsbook.runbook.discover import find_runbooks; from pathlib import Path; "
             f"find_runbooks(Path({str(REPO / 'runbooks')!r})); print('jupytext' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
