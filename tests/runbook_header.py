"""The YAML header of a minimal runbook, for tests that write runbook files."""

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
