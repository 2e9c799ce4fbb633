"""The disaster recovery drill enforces its targets: with an RTO target of 1 s, a real recovery
from the off-site store (which takes longer) fails the run at the judgement, with the measured
figures, and the fresh instance is gone afterwards. (Its passing case is verified with the library.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opsbook.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]


@pytest.mark.sandbox
def test_the_drill_fails_when_the_recovery_takes_longer_than_the_rto_target(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    done = subprocess.run([*OPSBOOK, "run", "runbooks/database/disaster-recovery-drill.md", "--yes",
                           "--project", sandbox.project, "--param", "RTO_TARGET=1", "--record-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert re.search(r"^serving after \d+\.\d s \(1000 organisations\)$", out, re.MULTILINE), out
    assert re.search(r"^RTO over target: \d+\.\d s > 1 s$", out, re.MULTILINE), out
    assert not re.search(r"^RPO over target", out, re.MULTILINE), out
    assert re.search(r"^figure: RTO \d+\.\d s target 1$", out, re.MULTILINE), out
    transcript = (tmp_path / "transcript.md").read_text()
    assert "Step 7 · judge-rto-rpo" in transcript and "**failed**" in transcript.split("Step 7 · judge-rto-rpo")[1]
    left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={sandbox.project}",
                           "--filter", "label=com.docker.compose.service=postgres-recovery"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert left == [], "the drill left its fresh instance behind"
