"""`opsbook run --summary`: a pipeline page that shows what ran and nothing a runbook or an
output could turn into markup."""

from __future__ import annotations

from pathlib import Path

from opsbook.record.summary import LIMIT, run_summary
from opsbook.run.events import RunResult, RunStatus, StepResult, StepStatus


def _result() -> RunResult:
    steps = (StepResult(index=0, name="look|<b>", command="true", status=StepStatus.PASSED, exit_status=0,
                        duration=0.25, attempts=1),
             StepResult(index=1, name="switch", command="false", status=StepStatus.FAILED, exit_status=3,
                        duration=1.5, attempts=1, reason="exit status 3, expected 0 <img src=x onerror=alert(1)>"),
             StepResult(index=2, name="verify", command="true", status=StepStatus.NOT_RUN, reason="not run"))
    return RunResult(runbook_id="deployment/deploy", target="production", status=RunStatus.FAILED,
                     started_at="2026-12-03T10:00:00Z", finished_at="2026-12-03T10:00:02Z", steps=steps,
                     params=(("VERSION", "1.1.0"),))


def test_the_steps_verdict_and_transcript_and_no_markup_from_them() -> None:
    transcript = "## Step look\n\n```text\n</details><script>alert(1)</script>\n````\n"
    page = run_summary(_result(), transcript, Path("build/deploy-record"))
    assert page.startswith("### opsbook run deployment/deploy on production: failed\n")
    assert "Stopped at step switch: exit status 3, expected 0 &lt;img src=x onerror=alert(1)&gt;" in page
    assert "| look&#124;&lt;b&gt; | passed | 0.25 s | 0 |" in page
    assert "| switch | failed | 1.50 s | 3 |" in page
    assert "| verify | not\\_run |" in page
    assert "VERSION=1.1.0" in page and "build/deploy-record" in page
    # The transcript in a fence longer than its longest backtick run: its </details> and <script> stay text.
    body = page.split("<details><summary>Transcript</summary>\n\n", 1)[1]
    assert body.startswith("`````text\n") and body.rstrip().endswith("`````\n\n</details>".rstrip())
    assert page.count("</details>") == 2  # the one inside the fence, and ours


def test_a_huge_transcript_is_cut_in_the_middle() -> None:
    page = run_summary(_result(), "a" * (LIMIT + 5000) + "THE END\n")
    assert len(page) < LIMIT + 5000 and "characters cut" in page and "THE END" in page
