"""Several sandboxes at once under pytest-xdist: each worker runs whole sandbox groups.

The pytest plugin gives every runbook item a sandbox (`--opsbook-sandboxes N`), and the other
tests marked `sandbox` the first one. A sandbox's items must all run in one worker (its compose
project is brought up once there), so this scheduler sends each group to a worker as one unit,
the groups first (the collection puts them first), then the rest of the suite, one module per
unit, to whichever worker is free. pytest-xdist's own `--dist loadgroup` would do it from
`xdist_group` marks, but it reads them by rewriting node ids, which pytest 9.2 no longer
allows (pytest-xdist issue 1386); the groups come here through a file per worker instead.

    controller                      workers
    pytest_configure_node   ──►     workerinput["opsbook_groups"]: a folder
                                    collection: <folder>/<worker>.json  {node id: group}
    schedule()              ◄──     read when every worker has collected
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from opsbook.text import write_atomically

WORKER_INPUT_KEY = "opsbook_groups"


def write_worker_groups(workerinput: dict[str, Any], groups: dict[str, str]) -> None:
    """In a worker: the node ids of its collection that belong to a sandbox group."""
    folder = workerinput.get(WORKER_INPUT_KEY)
    if folder:
        worker = str(workerinput.get("workerid", os.getpid()))
        write_atomically(Path(folder) / f"{worker}.json", json.dumps(groups, sort_keys=True))


def read_groups(folder: Path) -> dict[str, str]:
    """Every worker's groups (they collect the same items, so they agree)."""
    groups: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        groups.update(json.loads(path.read_text(encoding="utf-8")))
    return groups


def make_scheduler(config: Any, log: Any, folder: Path) -> Any:
    """A load-scope scheduler whose scopes are the sandbox groups (the rest: one per module),
    in collection order."""
    from xdist.scheduler.loadscope import LoadScopeScheduling

    class SandboxGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(config, log)
            self.groups: dict[str, str] = {}

        def schedule(self) -> None:
            if self.collection is None and self.collection_is_completed:
                self.groups = read_groups(folder)
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            group = self.groups.get(nodeid)
            return f"@{group}" if group else str(super()._split_scope(nodeid))

    config.option.loadscopereorder = False  # the groups are first in the collection: keep them first
    return SandboxGroupScheduling()
