"""Runbook files for tests: the YAML header of a minimal runbook, and a writer of whole files."""

from __future__ import annotations

import textwrap
from pathlib import Path

HEADER = """\
---
jupyter:
  kernelspec:
    name: opsbook-bash
    display_name: opsbook (bash)
    language: bash
opsbook:
  format: 1
  title: {title}
{extra}---
"""


def write_runbook(folder: Path, rid: str, header: str, body: str, title: str = "Test runbook") -> Path:
    """A runbook file at folder/runbooks/<rid>.md; `header` is extra `opsbook:` keys (indented 2)."""
    path = folder / "runbooks" / f"{rid}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = textwrap.indent(textwrap.dedent(header).strip("\n"), "  ") + "\n" if header.strip() else ""
    path.write_text(HEADER.format(title=title, extra=extra) + "\n" + textwrap.dedent(body).lstrip("\n"))
    return path
