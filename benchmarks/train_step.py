"""What a CPU training step costs on real batches, and what the machine offers to cut it.

Builds fold 0's training split as `locflow train` does (same batches: length-sorted, 16,384
padded tokens, at most 128 proteins), takes `--batches` of them spread over the length range,
and times passes of the real training loop (`run_epoch`: forward, DeepLoc's loss with the
signal masks, backward, AdamW) in fresh processes, one per variant:

- glibc's default allocator vs `runtime.keep_freed_memory()` (what train now calls);
- float32 vs bfloat16 autocast (fast only where the CPU has bf16 instructions: AMX/AVX-512);
- one process with all threads vs one single-thread process per core training at once
  (throughput: both processes' batches over the slower one's time).

    .venv/bin/python benchmarks/train_step.py --proteins model_build/proteins.parquet \\
        --folds model_build/folds.parquet --json train_step.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from machine import cpu_description  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "default allocator, fp32": {"keep": False, "bf16": False, "processes": 1},
    "freed memory kept, fp32 (train's setting)": {"keep": True, "bf16": False, "processes": 1},
    "freed memory kept, bf16 autocast": {"keep": True, "bf16": True, "processes": 1},
    "freed memory kept, fp32, 1 thread per process": {
        "keep": True,
        "bf16": False,
        "processes": "cores",
    },
}


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Time `args.repeats` passes over the chosen batches in this process."""
    import numpy as np
    import torch

    from locflow import runtime
    from locflow.training.fold import _build, _optimizer, _settled
    from locflow.training.loop import _batches, run_epoch
    from locflow.training.settings import FoldConfig, TrainSettings
    from locflow.training.split import load_split

    if args.keep:
        runtime.keep_freed_memory()
    runtime.set_threads(args.threads)
    train, val, val_fold, k = load_split(args.proteins, args.folds, 0, None)
    settings = _settled(TrainSettings(fold=0, backbone=args.backbone, device="cpu"), val_fold)
    inputs, model = _build(FoldConfig.of(settings, k), settings, torch.device("cpu"), train, val)
    optimizer, _ = _optimizer(model, settings)
    batches = _batches(train, settings)
    chosen = [batches[i] for i in np.linspace(0, len(batches) - 1, args.batches).astype(int)]
    seconds = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(args.repeats + 1):  # the first pass builds the batches and warms up
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            run_epoch(model, inputs, train, chosen, optimizer)
        seconds.append(time.perf_counter() - start)
        if len(seconds) == 1:
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    return {
        "seconds_per_pass": [round(s, 2) for s in seconds[1:]],
        "minor_faults_per_pass": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
        // args.repeats,
        # Peak resident memory of the process (KiB on Linux).
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "batches": len(chosen),
        "proteins": sum(len(b) for b in chosen),
        "epoch_batches": len(batches),
    }


def run_variant(args: argparse.Namespace, variant: dict[str, Any]) -> dict[str, Any]:
    """Run one variant's worker process(es); seconds per batch as throughput of the machine."""
    cores = os.cpu_count() or 1
    processes = cores if variant["processes"] == "cores" else 1
    threads = 1 if processes > 1 else args.threads
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--proteins",
        str(args.proteins),
        "--folds",
        str(args.folds),
        "--backbone",
        args.backbone,
        "--batches",
        str(args.batches),
        "--repeats",
        str(args.repeats),
        "--threads",
        str(threads),
    ]
    command += ["--keep"] * variant["keep"] + ["--bf16"] * variant["bf16"]
    running = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)
    ]
    results = []
    for proc in running:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed ({proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    slowest = max(min(r["seconds_per_pass"]) for r in results)
    done = sum(r["batches"] for r in results)
    return {
        "processes": processes,
        "threads_per_process": threads,
        "seconds_per_batch": round(slowest / done, 4),
        "minor_faults_per_pass": results[0]["minor_faults_per_pass"],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "workers": results,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proteins", type=Path, default=Path("model_build/proteins.parquet"))
    ap.add_argument("--folds", type=Path, default=Path("model_build/folds.parquet"))
    ap.add_argument("--backbone", default="cnn")
    ap.add_argument("--batches", type=int, default=24, help="batches per pass")
    ap.add_argument("--repeats", type=int, default=2, help="timed passes (after one warm-up)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    import torch

    result: dict[str, Any] = {
        "command": "benchmarks/train_step.py " + " ".join(argv or sys.argv[1:]),
        "machine": cpu_description(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "variants": {},
    }
    base = None
    for name, variant in VARIANTS.items():
        row = run_variant(args, variant)
        result["variants"][name] = row
        base = base or row["seconds_per_batch"]
        print(
            f"{name}: {row['seconds_per_batch']:.3f} s per batch "
            f"({base / row['seconds_per_batch']:.2f}x), "
            f"{row['minor_faults_per_pass']:,} page faults per pass, "
            f"peak {row['peak_rss_mb']:,} MB",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
