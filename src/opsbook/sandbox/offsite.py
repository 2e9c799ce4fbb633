"""The off-site store's keys (the `backup-store` service, an SSH host): made once per compose
project by `opsbook sandbox up` with the host's ssh-keygen, kept in sandbox/.state/<project>/backup-store.

    id_ed25519, known_hosts      the host's side (runbook steps: scripts/backup-store.sh), mode 0600
    client/                      mounted read-only into postgres and the backup job (their copies)
    store/                       mounted read-only into the store: its host key and authorized_keys

The store's host key is made here too, not in its image, so every client can check it
(StrictHostKeyChecking=yes) and a rebuilt image keeps the same identity.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from opsbook.errors import SandboxError
from opsbook.text import write_atomically

STORE_USER = "backup"
STORE_SERVICE = "backup-store"
STORE_DIR = "/srv/backups"


def _keygen(path: Path, comment: str) -> None:
    if path.exists() and path.with_name(path.name + ".pub").exists():
        return
    if shutil.which("ssh-keygen") is None:
        raise SandboxError("ssh-keygen not found: the off-site store needs an SSH key; install openssh-client "
                           "(`make host` does)")
    path.unlink(missing_ok=True)
    done = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SandboxError(f"ssh-keygen failed for {path}: {(done.stderr or done.stdout).strip()}")


def write_store_keys(folder: Path, project: str, port: int, host: str = "127.0.0.1") -> None:
    """Create (once) and lay out the store's and its clients' keys in `folder`; the known_hosts
    files are rewritten every time, since the published port may change."""
    client, store = folder / "client", folder / "store"
    for path, mode in ((folder, 0o700), (client, 0o755), (store, 0o755)):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
    key = folder / "id_ed25519"
    _keygen(key, f"opsbook sandbox {project} backups")
    _keygen(store / "ssh_host_ed25519_key", f"opsbook sandbox {project} backup-store")
    key.chmod(0o600)
    (store / "ssh_host_ed25519_key").chmod(0o600)
    public = key.with_name("id_ed25519.pub").read_text(encoding="utf-8")
    host_key = " ".join((store / "ssh_host_ed25519_key.pub").read_text(encoding="utf-8").split()[:2])
    write_atomically(store / "authorized_keys", public, mode=0o644)
    # Readable by the containers' postgres user through the read-only mount; they copy it to a
    # file of their own with mode 0600 before use (ssh refuses a key others can read).
    write_atomically(client / "id_ed25519", key.read_text(encoding="utf-8"), mode=0o644)
    write_atomically(client / "known_hosts", f"{STORE_SERVICE} {host_key}\n", mode=0o644)
    write_atomically(folder / "known_hosts", f"[{host}]:{port} {host_key}\n", mode=0o600)


def store_env(folder: Path, port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """What a runbook step needs to reach the store (scripts/backup-store.sh reads these)."""
    return {
        "BACKUP_STORE": f"{STORE_USER}@{host}",
        "BACKUP_STORE_PORT": str(port),
        "BACKUP_STORE_SSH_KEY": str(folder / "id_ed25519"),
        "BACKUP_STORE_KNOWN_HOSTS": str(folder / "known_hosts"),
        "BACKUP_STORE_DIR": STORE_DIR,
    }
