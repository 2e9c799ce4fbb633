"""Runbook source text from parts: the YAML header and step fences, in the syntax `parse` reads.

`opsbook new` and `opsbook import` write runbooks through these two functions, so what they
write is what `parse` (and jupytext) read back: the header's `jupyter:` block names the opsbook
kernel, and a step's options are written by jupytext's own info-string writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from jupytext.cell_metadata import metadata_to_text

from opsbook.kernel.protocol import LANGUAGE, kernelspec_metadata
from opsbook.text import fenced


def header_text(fields: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """The `---` header of a runbook whose `opsbook:` block holds `fields` (in that order).

    `comments` are written as `# ...` lines at the end of the `opsbook:` block: hints for the
    author that the parser ignores.
    """
    kernelspec = yaml.safe_dump({"jupyter": {"kernelspec": kernelspec_metadata()}}, sort_keys=False,
                                default_flow_style=False)
    # Leaves in flow style (`services: [worker, redis]`, `NAME: {help: ...}`), as the house runbooks
    # write them; safe_dump quotes whatever YAML would read as something else (`"no"`, `"1.0"`).
    block = yaml.safe_dump({"opsbook": dict(fields)}, sort_keys=False, default_flow_style=None,
                           allow_unicode=True, width=10_000)
    body = kernelspec + block
    hints = "".join(f"  # {line}\n" if line else "  #\n" for line in comments)
    return f"---\n{body}{hints}---\n"


def step_fence(source: str, name: str, options: Mapping[str, Any] | None = None) -> str:
    """A ```bash step named `name` with `options` (step option keys, JSON-able values) in its info string."""
    info = metadata_to_text(LANGUAGE, {"name": name, **(options or {})})
    return fenced(source.strip("\n"), info)
