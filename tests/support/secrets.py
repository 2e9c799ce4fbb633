"""What tests look for when they check that a secret leaked nowhere: its plain, base64 and
URL-encoded forms, in every file of a record and in what the terminal showed."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import quote


def secret_forms(value: str) -> set[str]:
    """The forms masking must catch (the same ones opsbook.run.redact masks)."""
    return {value, base64.b64encode(value.encode()).decode(), quote(value, safe="")}


def assert_nowhere(secrets: Mapping[str, str], texts: Mapping[str, str]) -> None:
    """No form of any secret (name → value) in any text (where → text)."""
    for name, value in secrets.items():
        for where, text in texts.items():
            assert not any(form in text for form in secret_forms(value)), f"{name} is in {where}"


class TerminalLog:
    """pexpect's logfile_read: keeps what the terminal showed."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, data: str) -> None:
        self.into.append(data)

    def flush(self) -> None:
        pass
