"""pytest plugin: collects runbooks as test items verified against a session sandbox."""

from __future__ import annotations
