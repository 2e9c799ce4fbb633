"""Run every benchmark in bench/ and record each one's section in bench/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys

from support import BENCH

BENCHMARKS = [
    ["bench_run.py"],
    ["bench_kernel.py"],
    ["bench_parse.py"],
    ["bench_cli.py"],
    ["bench_steps.py"],
    ["bench_sandbox.py", "--record"],
    ["bench_verify.py"],
    ["bench_site.py", "--record"],
]


def main() -> int:
    failed = []
    for script, *args in BENCHMARKS:
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, str(BENCH / script), *args]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
