"""A whole verification: selection, shards, results on disk, exit statuses, and the pytest plugin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import junitparser
import pytest

from tests.support import subprocess_env
from tests.support.file_sandbox import FileSandbox
from tests.support.runbooks import write_runbook
from opsbook.verify.status import schema
from opsbook.verify.suite import VerifyRequest, run_verification
from opsbook.verify.shard import Shard

pytestmark = pytest.mark.kernel

GOOD = """
```bash name="hello" role="verify" output="^hello$"
echo hello
```
"""
BAD = """
```bash name="broken-step"
exit 3
```
"""


def _project(tmp_path: Path) -> Path:
    write_runbook(tmp_path, "a/good", "timeout: 20", GOOD, title="Good")
    write_runbook(tmp_path, "b/bad", "timeout: 20", BAD, title="Bad")
    return tmp_path


def _factory(tmp_path: Path, made: list[FileSandbox]):  # type: ignore[no-untyped-def]
    def make(root: Path, project: str) -> FileSandbox:
        box = FileSandbox(tmp_path / f"state-{project}", {}, running=False)
        box.calls.append(f"project {project}")
        made.append(box)
        return box

    return make


def test_results_on_disk_and_exit_status(tmp_path: Path) -> None:
    root = _project(tmp_path)
    made: list[FileSandbox] = []
    outcome = run_verification(VerifyRequest(root=root), sandbox_factory=_factory(tmp_path, made))
    assert outcome.exit_status == 1
    assert {v.runbook_id: v.passed for v in outcome.verifications} == {"a/good": True, "b/bad": False}
    out = root / "build" / "verify"
    doc = json.loads((out / "status.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert doc["runbooks"]["b/bad"]["message"].startswith("step 'broken-step' (runbooks/b/bad.md:")
    xml = junitparser.JUnitXml.fromfile(str(out / "junit.xml"))
    assert {s.name for s in xml} == {"a/good", "b/bad"} and xml.failures == 1
    assert (out / "notebooks" / "a" / "good.ipynb").is_file()
    assert (out / "records" / "b" / "bad" / "default" / "transcript.md").is_file()
    (box,) = made
    assert box.calls[0] == "project opsbook-verify" and box.calls[1] == "up"
    assert box.calls[-1] == "down", "started by verification, so taken down"


def test_format_error_fails_with_file_and_line_and_others_still_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    broken = root / "runbooks" / "c" / "unreadable.md"
    broken.parent.mkdir()
    broken.write_text("---\nopsbook:\n  format: 1\n  title: x\n  colour: blue\n---\n")
    outcome = run_verification(VerifyRequest(root=root), sandbox_factory=_factory(tmp_path, []))
    assert outcome.exit_status == 2
    by_id = {v.runbook_id: v for v in outcome.verifications}
    assert set(by_id) == {"a/good", "b/bad", "c/unreadable"}
    assert "unreadable.md:" in by_id["c/unreadable"].message and "colour" in by_id["c/unreadable"].message


def test_shards_are_disjoint_with_their_own_project_and_results(tmp_path: Path) -> None:
    root = _project(tmp_path)
    ids: list[str] = []
    for index in (1, 2):
        made: list[FileSandbox] = []
        outcome = run_verification(VerifyRequest(root=root, shard=Shard(index, 2)),
                                   sandbox_factory=_factory(tmp_path, made))
        ids += [v.runbook_id for v in outcome.verifications]
        assert outcome.status == root / "build" / "verify" / f"shard-{index}-of-2" / "status.json"
        for box in made:
            assert box.calls[0] == f"project opsbook-shard-{index}-of-2"
    assert sorted(ids) == ["a/good", "b/bad"]


def test_an_empty_selection_passes_without_a_sandbox(tmp_path: Path) -> None:
    root = _project(tmp_path)
    made: list[FileSandbox] = []
    outcome = run_verification(VerifyRequest(root=root, paths=(root / "runbooks" / "a",)),
                               sandbox_factory=_factory(tmp_path, made))
    assert outcome.exit_status == 0 and [v.runbook_id for v in outcome.verifications] == ["a/good"]


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env()
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_pytest_plugin_collects_runbooks_and_fails_with_the_same_message(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "conftest.py").write_text(
        "from pathlib import Path\n"
        "from tests.support.file_sandbox import FileSandbox\n"
        "def pytest_opsbook_sandbox(config, root, project):\n"
        "    return FileSandbox(Path(str(root)) / 'state', {})\n"
    )
    result = _pytest(root, "runbooks", "-v", "-rA", f"--junitxml={root / 'report.xml'}")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "runbooks/a/good.md::a/good PASSED" in out
    assert "runbooks/b/bad.md::b/bad FAILED" in out
    assert "step 'broken-step' (runbooks/b/bad.md:" in out and "exit status 3, expected 0" in out
    assert "opsbook steps" in out and "broken-step" in out
    xml = junitparser.JUnitXml.fromfile(str(root / "report.xml"))
    props = {p.name: p.value for s in xml for c in s for p in c.iterchildren(junitparser.Property)}
    props |= {p.name: p.value for s in xml for c in s for ps in c.iterchildren(junitparser.Properties)
              for p in ps}
    assert props.get("step:broken-step") == "failed", props
    status = json.loads((root / "build" / "verify" / "status.json").read_text())
    assert set(status["runbooks"]) == {"a/good", "b/bad"}

    selected = _pytest(root, "runbooks", "-k", "good")
    assert selected.returncode == 0 and "1 passed, 1 deselected" in selected.stdout, selected.stdout
    totals = 0
    for index in (1, 2):
        shard = _pytest(root, "runbooks", "--opsbook-shard", f"{index}/2", "-q")
        last = shard.stdout.strip().splitlines()[-1]
        totals += sum(int(n) for n, word in re.findall(r"(\d+) (passed|failed)", last))
    assert totals == 2


def test_cli_merges_shard_status_files(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from opsbook.verify.status import build_status, write_status
    from opsbook.cli.verify import verify

    from tests.support.verifications import failing_verification, passing_two_cases

    write_status(tmp_path / "shard-1" / "status.json", build_status([failing_verification()], "c1"))
    write_status(tmp_path / "shard-2" / "status.json", build_status([passing_two_cases()], "c1"))
    result = CliRunner().invoke(verify, ["--merge", str(tmp_path / "shard-1"), str(tmp_path / "shard-2" / "status.json"),
                                         "--out", str(tmp_path / "merged")])
    # Written whole for the site, and failed: one runbook did.
    assert result.exit_code == 1, result.output
    merged = json.loads((tmp_path / "merged" / "status.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(merged)
    assert set(merged["runbooks"]) == {"incidents/x", "deployment/deploy"}
    assert "2 runbooks into" in result.output and "✗ incidents/x failed" in result.output
    bad = CliRunner().invoke(verify, ["--merge"])
    assert bad.exit_code == 2 and "status.json files as PATHs" in bad.output


def _xdist_project(root: Path, runbooks: int) -> None:
    """Runbooks and a conftest whose sandboxes are files, each logged in `made` as "project worker"."""
    for index in range(runbooks):
        write_runbook(root, f"r/book{index}", "timeout: 20", GOOD, title=f"Book {index}")
    (root / "conftest.py").write_text(
        "import os\n"
        "from pathlib import Path\n"
        "from tests.support.file_sandbox import FileSandbox\n"
        "def pytest_opsbook_sandbox(config, root, project):\n"
        "    with open(Path(str(root)) / 'made', 'a') as log:  # which worker made which project's sandbox\n"
        "        log.write(project + ' ' + os.environ.get('PYTEST_XDIST_WORKER', '-') + '\\n')\n"
        "    return FileSandbox(Path(str(root)) / 'state' / project, {})\n"
    )


def _made(root: Path) -> dict[str, list[str]]:
    """Project → the workers that made a sandbox of it."""
    found: dict[str, list[str]] = {}
    for line in (root / "made").read_text().splitlines():
        project, worker = line.split()
        found.setdefault(project, []).append(worker)
    return found


def test_pytest_xdist_verifies_in_several_sandboxes_and_merges_one_status(tmp_path: Path) -> None:
    """`pytest -n 2 --opsbook-sandboxes 2`: each runbook verified once, in one of two sandbox
    projects (the first shared with the tests marked sandbox), one status.json at the end."""
    root = tmp_path
    _xdist_project(root, 6)
    (root / "test_shared.py").write_text(
        "import os, pytest\n"
        "@pytest.mark.sandbox\n"
        "def test_uses_the_first_sandbox():\n"
        "    open('shared-worker', 'w').write(os.environ.get('PYTEST_XDIST_WORKER', 'none'))\n"
        "def test_plain():\n"
        "    pass\n"
    )
    result = _pytest(root, "test_shared.py", "runbooks", "-n", "2",
                     "--opsbook-sandboxes", "2", "--opsbook-project", "p", "--opsbook-shared-seconds", "100",
                     "-q", "-p", "no:randomly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout, result.stdout
    # One suite per sandbox: each project made once, by one worker, the two at once.
    workers = _made(root)
    assert sorted(workers) == ["p", "p-2"] and all(len(w) == 1 for w in workers.values()), workers
    assert workers["p"] != workers["p-2"], "the two sandboxes should run at once, in two workers"
    assert (root / "shared-worker").read_text() == workers["p"][0], "the test marked sandbox uses the first one"
    shards = [json.loads((root / "build" / "verify" / f"shard-{i}-of-2" / "status.json").read_text()) for i in (1, 2)]
    one, two = (set(doc["runbooks"]) for doc in shards)
    assert not one & two and one | two == {f"r/book{i}" for i in range(6)}
    # The first sandbox has a head start (the shared test), so it gets fewer runbooks.
    assert len(one) < len(two), (one, two)
    merged = json.loads((root / "build" / "verify" / "status.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(merged)
    assert set(merged["runbooks"]) == one | two


def test_several_sandboxes_and_a_shard_are_refused_together(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = _pytest(root, "runbooks", "--opsbook-sandboxes", "2", "--opsbook-shard", "1/2")
    assert result.returncode == 4 and "give one" in result.stderr, result.stdout + result.stderr


def test_plan_prints_the_split_and_writes_the_matrix_for_github(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from opsbook.cli.verify import verify
    from opsbook.verify.status import build_status, write_status

    from tests.support.verifications import passing_two_cases

    root = _project(tmp_path)
    write_runbook(tmp_path, "c/long", "timeout: 20", GOOD, title="Long")
    recorded = build_status([passing_two_cases()], "c1")
    recorded["runbooks"] = {rid: {**next(iter(recorded["runbooks"].values())), "id": rid, "duration": seconds}
                            for rid, seconds in (("a/good", 10.0), ("b/bad", 20.0), ("c/long", 300.0))}
    write_status(tmp_path / "durations.json", recorded)
    monkeypatch.chdir(root)
    output = tmp_path / "github-output"
    output.write_text("earlier=1\n")
    result = CliRunner().invoke(verify, ["--plan", "2", "--durations", str(tmp_path / "durations.json"),
                                         "--github-output", str(output)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # The long one alone; the two short ones together: the slowest shard is the long runbook.
    assert "1/2   │ 1        │ 5 min 00 s │ c/long" in result.output, result.output
    assert "a/good, b/bad" in result.output and "slowest shard 5 min 00 s" in result.output
    assert output.read_text() == 'earlier=1\nmatrix={"shard": [1, 2]}\ncount=2\n'
    refused = CliRunner().invoke(verify, ["--plan", "2", "--shard", "1/2"])
    assert refused.exit_code == 2 and "leave out --shard" in refused.output


def test_shards_in_separate_processes_merge_to_what_one_unsharded_run_gives(tmp_path: Path) -> None:
    """N shard processes at once, each with its own sandbox project: after --merge, the same
    runbooks with the same results as one unsharded run, each exactly once; a missing or failed
    shard fails the merge, named."""
    from click.testing import CliRunner

    from opsbook.cli.verify import verify

    root = tmp_path / "project"
    for index in range(7):
        write_runbook(root, f"area{index % 3}/book{index}", "timeout: 20", BAD if index == 4 else GOOD,
                      title=f"Book {index}")
    (root / "conftest.py").write_text(
        "from pathlib import Path\n"
        "from tests.support.file_sandbox import FileSandbox\n"
        "def pytest_opsbook_sandbox(config, root, project):\n"
        "    (Path(str(root)) / 'projects').mkdir(exist_ok=True)\n"
        "    (Path(str(root)) / 'projects' / project).touch()\n"
        "    return FileSandbox(Path(str(root)) / 'state' / project, {})\n"
    )
    env = subprocess_env()
    count = 3
    shards = [subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "runbooks",
                                "--opsbook-shard", f"{index}/{count}"], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for index in range(1, count + 1)]
    outputs = [shard.communicate(timeout=300)[0] for shard in shards]
    assert sorted(p.name for p in (root / "projects").iterdir()) == [f"opsbook-shard-{i}-of-3" for i in (1, 2, 3)]
    assert [shard.returncode for shard in shards].count(1) == 1, outputs  # the one holding the broken runbook

    whole = _pytest(root, "runbooks", "--opsbook-out", str(root / "unsharded"), "-q")
    assert whole.returncode == 1
    unsharded = json.loads((root / "unsharded" / "status.json").read_text())["runbooks"]

    folders = [root / "build" / "verify" / f"shard-{index}-of-{count}" for index in range(1, count + 1)]
    merged_out = root / "merged"
    result = CliRunner().invoke(verify, ["--merge", *map(str, folders), "--out", str(merged_out)])
    merged = json.loads((merged_out / "status.json").read_text())["runbooks"]
    assert {rid: e["result"] for rid, e in merged.items()} == {rid: e["result"] for rid, e in unsharded.items()}
    assert len(merged) == 7
    per_shard = [set(json.loads((f / "status.json").read_text())["runbooks"]) for f in folders]
    assert sum(len(s) for s in per_shard) == 7 and set().union(*per_shard) == set(merged), "each runbook exactly once"
    failing = next(i for i, s in enumerate(per_shard, 1) if "area1/book4" in s)
    assert result.exit_code == 1 and f"shard {failing}/3: area1/book4 failed" in result.output, result.output

    missing = CliRunner().invoke(verify, ["--merge", *map(str, folders[:1] + folders[2:]), "--out", str(tmp_path / "m2")])
    assert missing.exit_code == 1 and "shard 2/3 is missing" in missing.output, missing.output


def test_pytest_xdist_with_one_sandbox_keeps_its_tests_in_one_worker_beside_the_rest(tmp_path: Path) -> None:
    """`make test`: -n 2 --opsbook-sandboxes 1: every runbook and every test marked sandbox in the
    worker that owns the sandbox (brought up once), the other tests run in the other one meanwhile."""
    root = tmp_path
    _xdist_project(root, 3)
    (root / "test_mixed.py").write_text(
        "import os, time, pytest\n"
        "def _note(name):\n"
        "    with open(name, 'a') as log:\n"
        "        log.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
        "@pytest.mark.sandbox\n"
        "def test_sandbox_a():\n"
        "    _note('sandbox-workers')\n"
        "@pytest.mark.sandbox\n"
        "def test_sandbox_b():\n"
        "    _note('sandbox-workers')\n"
        "@pytest.mark.parametrize('n', range(6))\n"
        "def test_plain(n):\n"
        "    time.sleep(0.2)\n"
        "    _note('plain-workers')\n"
    )
    result = _pytest(root, "test_mixed.py", "runbooks", "-n", "2", "--opsbook-sandboxes", "1",
                     "--opsbook-project", "p", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    made = _made(root)
    assert list(made) == ["p"] and len(made["p"]) == 1, made  # one sandbox, brought up once
    owner = made["p"][0]
    assert set((root / "sandbox-workers").read_text().split()) == {owner}
    assert set((root / "plain-workers").read_text().split()) - {owner}, "the plain tests used the other worker too"
    assert json.loads((root / "build" / "verify" / "status.json").read_text())["runbooks"].keys() == {
        "r/book0", "r/book1", "r/book2"}
