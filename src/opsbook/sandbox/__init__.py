"""The docker compose sandbox: a small, faithful copy of the platform the runbooks operate.

    from opsbook.sandbox import Sandbox
    box = Sandbox(repo_root)          # project "opsbook" (or $OPSBOOK_SANDBOX_PROJECT)
    box.up(); box.inject("worker-stuck"); box.wait_alerts({"WorkerQueueBackedUp"}, firing=True, timeout=60)
"""

from opsbook.sandbox.containers import ServiceState
from opsbook.sandbox.driver import Sandbox
from opsbook.sandbox.faults import Fault

__all__ = ["Sandbox", "ServiceState", "Fault"]
