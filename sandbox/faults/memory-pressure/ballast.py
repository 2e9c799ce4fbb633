"""Hold memory in this container until its working set is FRACTION of its memory limit (cgroup v2 or v1)."""

import os
import sys
import time
from pathlib import Path

FRACTION = float(sys.argv[1]) if len(sys.argv) > 1 else 0.9


def read(*names: str) -> str:
    for name in names:
        try:
            return Path(name).read_text().strip()
        except OSError:
            pass
    raise SystemExit(f"none of {names} is readable: is this a container?")


def stat(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


limit_text = read("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
if limit_text == "max" or int(limit_text) >= 1 << 62:
    raise SystemExit("the container has no memory limit: nothing to fill up")
limit = int(limit_text)
usage = int(read("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))
counters = stat(read("/sys/fs/cgroup/memory.stat", "/sys/fs/cgroup/memory/memory.stat"))
working_set = usage - counters.get("inactive_file", counters.get("total_inactive_file", 0))
size = int(FRACTION * limit) - working_set
if size <= 0:
    raise SystemExit(f"the working set is already {working_set} of {limit} bytes")
ballast = b"\x01" * size  # written, so every page is really in memory
Path("/tmp/memory-pressure.pid").write_text(f"{os.getpid()}\n")
print(f"holding {size} bytes: the working set is now about {FRACTION:.0%} of {limit}", flush=True)
while True:
    time.sleep(3600)
