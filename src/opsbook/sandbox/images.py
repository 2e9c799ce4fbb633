"""Which images the sandbox builds, from compose.yaml and the Dockerfiles, and which are stale."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from opsbook.errors import SandboxError

# A versioned image (`opsbook-sandbox/app:${APP_VERSION:-1.0.0}`) is built once per release of
# its service: sandbox/<folder>/releases/<version>.json.
VERSION_VARIABLE = re.compile(r"\$\{(APP_VERSION|WORKER_VERSION)[^}]*\}")
RELEASE_FOLDERS = {"APP_VERSION": "app", "WORKER_VERSION": "worker"}


@dataclass(frozen=True)
class ImageBuild:
    """One image compose builds: `compose build <service>` with `env` produces `image`."""

    service: str
    image: str
    parent: str  # the Dockerfile's FROM
    inputs: tuple[Path, ...]  # files and folders the image is built from
    env: Mapping[str, str] = field(default_factory=dict)


def app_versions(sandbox_dir: Path, folder: str = "app") -> list[str]:
    """Releases a service can be built as: sandbox/<folder>/releases/<version>.json."""
    return sorted(p.stem for p in (sandbox_dir / folder / "releases").glob("*.json"))


def _instructions(dockerfile: Path) -> Iterator[tuple[int, str]]:
    """The Dockerfile's instructions with their first line number: comments skipped, lines
    ending in a backslash joined to the next, as docker reads them."""
    start = 0
    parts: list[str] = []
    for number, raw in enumerate(dockerfile.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not parts and (not line or line.startswith("#")):
            continue
        if parts and line.startswith("#"):
            continue  # a comment inside a continued instruction
        start = start if parts else number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def _dockerfile_facts(dockerfile: Path, context: Path, variables: Mapping[str, str]) -> tuple[str, list[Path]]:
    parent = ""
    inputs = [dockerfile]
    for number, line in _instructions(dockerfile):
        words = line.split()
        instruction = words[0].upper()
        if instruction == "FROM" and not parent and len(words) > 1:
            parent = words[1]
        elif instruction in ("COPY", "ADD"):
            try:
                args = [w for w in shlex.split(line)[1:] if not w.startswith("--")]
            except ValueError as exc:
                raise SandboxError(f"{dockerfile}:{number}: cannot read this {instruction} line ({exc}): {line}") from None
            for source in args[:-1]:
                for name, value in variables.items():
                    source = source.replace("${" + name + "}", value).replace("$" + name, value)
                inputs.append(context / source)
    if not parent:
        raise SandboxError(f"{dockerfile}: no FROM line")
    return parent, inputs


def build_plan(compose: Mapping[str, Any], sandbox_dir: Path) -> list[ImageBuild]:
    """Every distinct image of compose.yaml (each app release separately), parents first."""
    plans: dict[str, ImageBuild] = {}
    for service, spec in (compose.get("services") or {}).items():
        build = spec.get("build")
        image = spec.get("image")
        if not build or not image:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (sandbox_dir / build.get("context", ".")).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        versioned = VERSION_VARIABLE.search(image)
        variants: list[tuple[str, dict[str, str]]] = [(image, {})]
        if versioned:
            variable = versioned.group(1)
            variants = [(VERSION_VARIABLE.sub(v, image), {variable: v})
                        for v in app_versions(sandbox_dir, RELEASE_FOLDERS[variable])]
        for tag, env in variants:
            if tag in plans:
                continue
            parent, inputs = _dockerfile_facts(dockerfile, context, env)
            plans[tag] = ImageBuild(service=service, image=tag, parent=parent, inputs=tuple(inputs), env=env)
    ordered: list[ImageBuild] = []
    pending = list(plans.values())
    while pending:
        ready = [p for p in pending if p.parent not in plans or any(o.image == p.parent for o in ordered)]
        if not ready:
            raise SandboxError("images in compose.yaml depend on each other in a cycle")
        ordered.extend(ready)
        pending = [p for p in pending if p not in ready]
    return ordered


def newest_mtime(paths: tuple[Path, ...]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            for child in path.rglob("*"):
                if "__pycache__" not in child.parts and child.is_file():
                    newest = max(newest, child.stat().st_mtime)
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def stale_images(plan: list[ImageBuild], created: Callable[[str], float | None]) -> list[ImageBuild]:
    """Images that are missing, older than a file they are built from, or older than their
    parent (including a parent rebuilt in this same run)."""
    stale: list[ImageBuild] = []
    rebuilt: set[str] = set()
    times: dict[str, float | None] = {}
    for item in plan:
        when = created(item.image)
        parent_when = times.get(item.parent) if item.parent in times else created(item.parent)
        if (when is None or item.parent in rebuilt or when < newest_mtime(item.inputs)
                or (parent_when is not None and when < parent_when)):
            stale.append(item)
            rebuilt.add(item.image)
        times[item.image] = when
    return stale


def build_levels(items: list[ImageBuild]) -> list[list[ImageBuild]]:
    """Group builds so that each group only depends on earlier groups (each group runs in parallel)."""
    levels: list[list[ImageBuild]] = []
    placed: dict[str, int] = {}
    for item in items:
        level = placed[item.parent] + 1 if item.parent in placed else 0
        placed[item.image] = level
        while len(levels) <= level:
            levels.append([])
        levels[level].append(item)
    return levels
