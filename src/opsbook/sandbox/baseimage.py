"""debian:bookworm-slim without a registry: pull it if a registry answers, else build it
from Debian's packages with debootstrap and `docker import` (what CI does, air-gapped)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from opsbook.errors import SandboxError
from opsbook.sandbox.containers import docker

BASE_IMAGE = "debian:bookworm-slim"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

# What the official slim image carries beyond debootstrap's minbase: no daemons started by
# package scripts, no docs/man/locales, no apt caches. Keeps our images small and apt quiet.
SLIM_FILES: dict[str, str] = {
    "usr/sbin/policy-rc.d": "#!/bin/sh\n# no daemons during image builds\nexit 101\n",
    "etc/dpkg/dpkg.cfg.d/docker-slim": "\n".join([
        "path-exclude /usr/share/doc/*",
        "path-include /usr/share/doc/*/copyright",
        "path-exclude /usr/share/man/*",
        "path-exclude /usr/share/groff/*",
        "path-exclude /usr/share/info/*",
        "path-exclude /usr/share/lintian/*",
        "path-exclude /usr/share/linda/*",
        "path-exclude /usr/share/locale/*",
        "path-include /usr/share/locale/locale.alias",
    ]) + "\n",
    "etc/apt/apt.conf.d/docker-clean": "\n".join([
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };',
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };',
        'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";',
    ]) + "\n",
    "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
    "etc/apt/apt.conf.d/docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "etc/apt/apt.conf.d/docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}

Report = Callable[[str], None]


def base_image_present(reference: str = BASE_IMAGE) -> bool:
    return docker("image", "inspect", "--format", "{{.Id}}", reference).returncode == 0


def try_pull(reference: str = BASE_IMAGE, timeout: float = 120) -> bool:
    """One pull attempt; fails fast when no registry resolves."""
    try:
        done = docker("pull", "--quiet", reference, timeout=timeout)
    except SandboxError:
        return False
    return done.returncode == 0


def sources_file(mirror: str, security_mirror: str) -> str:
    return (f"Types: deb\nURIs: {mirror}\nSuites: bookworm bookworm-updates\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {security_mirror}\nSuites: bookworm-security\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")


def slim_rootfs(rootfs: Path, mirror: str, security_mirror: str) -> None:
    """Make a debootstrap tree look like the official slim image."""
    for relative, content in SLIM_FILES.items():
        target = rootfs / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    (rootfs / "usr/sbin/policy-rc.d").chmod(0o755)
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    (rootfs / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(sources_file(mirror, security_mirror))
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                    "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "var/log/*.log",
                    "var/log/apt/*", "tmp/*", "var/tmp/*"):
        for path in rootfs.glob(pattern):
            if path.name in ("partial", "lock", "auxfiles"):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    for locale_dir in (rootfs / "usr/share/locale").glob("*"):
        if locale_dir.is_dir():
            shutil.rmtree(locale_dir, ignore_errors=True)


def bootstrap_base_image(report: Report, *, reference: str = BASE_IMAGE, mirror: str | None = None,
                         security_mirror: str | None = None, workdir: Path | None = None) -> None:
    """debootstrap --variant=minbase bookworm, slim it, `docker import` it as `reference`."""
    mirror = mirror or os.environ.get("OPSBOOK_DEBIAN_MIRROR") or DEFAULT_MIRROR
    security_mirror = security_mirror or os.environ.get("OPSBOOK_DEBIAN_SECURITY_MIRROR") or DEFAULT_SECURITY_MIRROR
    if shutil.which("debootstrap") is None:
        raise SandboxError(f"{reference} is not available and cannot be pulled, and debootstrap is not installed "
                           "to build it: run scripts/setup-host.sh (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise SandboxError(f"{reference} is not available and cannot be pulled; building it with debootstrap "
                           "needs root. Run `sudo opsbook sandbox up` once, or load the image with `docker load`")
    parent = workdir or Path(tempfile.gettempdir())
    rootfs = Path(tempfile.mkdtemp(prefix="opsbook-rootfs-", dir=parent))
    log_lines: list[str] = []
    try:
        cmd = ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror]
        report(f"debootstrap --variant=minbase bookworm ({mirror})")
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                log_lines.append(line)
                if line.startswith(("I: Retrieving", "I: Extracting", "I: Unpacking", "I: Configuring",
                                    "I: Validating", "I: Installing", "I: Base system")):
                    report(line[3:])
            code = proc.wait()
        if code != 0:
            tail = "\n".join(log_lines[-15:])
            raise SandboxError(f"debootstrap failed (exit {code}); last lines:\n{tail}")
        report("slimming the root filesystem")
        slim_rootfs(rootfs, mirror, security_mirror)
        report(f"docker import → {reference}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import",
             "--change", 'CMD ["bash"]',
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--message", "debootstrap --variant=minbase bookworm (opsbook sandbox)",
             "-", reference],
            stdin=tar.stdout, capture_output=True, text=True, check=False)
        if tar.stdout is not None:
            tar.stdout.close()
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise SandboxError(f"docker import of {reference} failed: {imported.stderr.strip()}")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def ensure_base_image(report: Report, reference: str = BASE_IMAGE) -> str:
    """Make sure `reference` exists locally; returns how: present, pulled or bootstrapped."""
    if base_image_present(reference):
        return "present"
    if os.environ.get("OPSBOOK_SANDBOX_PULL", "1") != "0":
        report(f"docker pull {reference}")
        if try_pull(reference):
            return "pulled"
        report("no registry answers: building it from Debian packages")
    bootstrap_base_image(report, reference=reference)
    return "bootstrapped"
