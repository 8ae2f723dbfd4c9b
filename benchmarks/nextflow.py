"""What the Nextflow orchestration costs: the test profile through `nextflow run` beside
`locflow demo` on the same demo data, in the same run.

Both front ends run the same steps with the same settings (demo data of seed 0, exhaustive
partition, audit, five cnn folds of 8 epochs, CV and HPA-style evaluation, report, prediction of
the proteome); Nextflow runs each step as a task of the local executor (at most 2 CPUs per task,
conf/test.config). Measured for each: wall time, CPU time (user + system of every process it
started) and peak memory (the largest sum of resident memory over its whole process tree,
sampled every 0.2 s), and the two runs' CV micro F1 as a check that they did the same work.

    .venv/bin/python benchmarks/nextflow.py --work bench_out/nextflow            # print
    .venv/bin/python benchmarks/nextflow.py --work bench_out/nextflow --epochs 2 --write-docs

Nextflow is tools/nextflow/nextflow (`make nextflow`) or --nextflow; runs are offline
(LOCFLOW_OFFLINE=true: offline.nf, without the nf-schema plugin).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from machine import cpu_description

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Nextflow orchestration (`benchmarks/nextflow.py`)"


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            pass
    return total


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run `command`; return wall seconds, CPU seconds of its whole tree, peak tree RSS."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    peak = 0
    watched = psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, tree_rss(watched))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    sampler.join()
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({proc.returncode}):\n{output[-3000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_mb": round(peak / 2**20)}


def micro_f1(metrics: Path) -> float:
    return json.loads(metrics.read_text())["summary"]["locations.micro_f1"]["mean"]


def run(work: Path, nextflow: Path, epochs: int) -> dict[str, Any]:
    """Both front ends, one after the other, on an otherwise idle machine."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = dict(os.environ, LOCFLOW_OFFLINE="true", NXF_OFFLINE="true",
               NXF_HOME=str(work / "nxf_home"))  # fmt: skip
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"

    demo = measure([sys.executable, "-m", "locflow.cli", "demo", "--out", str(work / "demo"),
                    "--epochs", str(epochs)], work, env)  # fmt: skip
    demo["cv_micro_f1"] = micro_f1(work / "demo" / "cv" / "metrics.json")

    out, launch = work / "nextflow_results", work / "nextflow_launch"
    launch.mkdir()  # Nextflow's work/ and .nextflow/ go here
    flow = measure([str(nextflow), "run", str(ROOT), "-profile", "test", "--outdir", str(out),
                    "--epochs", str(epochs), "-ansi-log", "false"], launch, env)  # fmt: skip
    flow["cv_micro_f1"] = micro_f1(out / "evaluation" / "cv" / "metrics.json")
    trace = (out / "pipeline_info" / "execution_trace.txt").read_text().splitlines()
    flow["tasks"] = len(trace) - 1
    return {
        "date": dt.date.today().isoformat(),
        "epochs": epochs,
        "machine": cpu_description(),
        "nextflow": subprocess.run([str(nextflow), "-version"], capture_output=True, text=True,
                                   env=env).stdout.split("version")[1].split()[0],  # fmt: skip
        "locflow_demo": demo,
        "nextflow_run": flow,
    }


def markdown(result: dict[str, Any]) -> str:
    demo, flow = result["locflow_demo"], result["nextflow_run"]

    def row(name: str, r: dict[str, Any]) -> str:
        return (f"| {name} | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s | {r['peak_rss_mb']} MB "
                f"| {r['cv_micro_f1']:.3f} |")  # fmt: skip

    return "\n".join([
        SECTION,
        "",
        "Command: `.venv/bin/python benchmarks/nextflow.py --work bench_out/nextflow "
        f"--epochs {result['epochs']} --write-docs`  ",
        f"Machine: {result['machine']}; date {result['date']}; Nextflow {result['nextflow']} "
        "(Maven Central), local executor, offline (`LOCFLOW_OFFLINE=true`).",
        "",
        f"Same demo data (seed 0), same steps and settings ({result['epochs']} epochs per fold), "
        "one after the other in one run. CPU is "
        "user + system time of every process started; peak memory is the largest sum of resident "
        "memory over the process tree (0.2 s samples).",
        "",
        "| front end | wall | CPU | peak memory | CV micro F1 |",
        "| --- | --- | --- | --- | --- |",
        row("`locflow demo` (in-process)", demo),
        row(f"`nextflow run . -profile test` ({flow['tasks']} tasks)", flow),
        "",
        f"Orchestration cost: {flow['wall_s'] / demo['wall_s']:.2f}x the wall time, "
        f"{flow['cpu_s'] - demo['cpu_s']:+.0f} s CPU, "
        f"{flow['peak_rss_mb'] - demo['peak_rss_mb']:+d} MB peak memory. Each task starts its "
        "own Python (imports of torch and friends) and the Nextflow JVM stays resident; the "
        "local executor runs the five training tasks one at a time on 2 cores.",
        "",
    ])  # fmt: skip


def write_docs(text: str) -> None:
    """Replace (or append) this benchmark's section of docs/benchmarks.md."""
    doc = DOCS.read_text()
    pattern = re.compile(re.escape(SECTION) + r".*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(lambda _: text + "\n", doc) if pattern.search(doc) else doc + "\n" + text
    DOCS.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "bench_out" / "nextflow")
    ap.add_argument("--nextflow", type=Path, default=ROOT / "tools" / "nextflow" / "nextflow")
    ap.add_argument("--epochs", type=int, default=8, help="training epochs per fold (both)")
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()
    result = run(args.work.resolve(), args.nextflow, args.epochs)
    (args.work / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
