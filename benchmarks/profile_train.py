"""Where one training step's CPU time goes, per from-scratch backbone (torch.profiler).

Builds each backbone with the DeepLoc head at its default shape, times full training steps
(forward, the training loss, backward, AdamW) on one padded batch of random residues, and
lists the operators that take the most self time. Also times the step with bfloat16 autocast,
which helps only where the CPU has bf16 instructions (AVX-512 BF16 / AMX).

    .venv/bin/python benchmarks/profile_train.py --backbones cnn --threads 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from machine import cpu_description  # noqa: E402

from locflow.data.classes import OUTPUTS, SIGNALS  # noqa: E402
from locflow.models.checkpoint import build_model  # noqa: E402
from locflow.models.losses import total_loss  # noqa: E402
from locflow.models.registry import backbone_spec  # noqa: E402


def step_function(name: str, proteins: int, length: int, bf16: bool) -> tuple[Any, int]:
    """A closure running one training step of backbone `name`, and its parameter count."""
    spec = backbone_spec(name)
    options = spec.options()
    config = {"backbone": name, name: options, "pooling": "attention", "hidden": 256}
    config["dim"] = int(spec.encoder(options).dim)
    torch.manual_seed(0)
    model = build_model(config, "cpu")
    tokens = torch.randint(1, 21, (proteins, length))
    mask = torch.ones(proteins, length, dtype=torch.bool)
    targets = torch.zeros(proteins, len(OUTPUTS))
    targets[:, 0] = 1
    signal_mask = torch.zeros(proteins, len(SIGNALS), length, dtype=torch.bool)
    signal_mask[:, 0, :20] = True
    optimizer = torch.optim.AdamW(model.parameters())

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(tokens, mask)
        loss, _ = total_loss(
            out.logits, targets, out.attention, out.log_attention, out.mask, signal_mask
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step, sum(p.numel() for p in model.parameters())


def seconds_per_step(step: Any, repeats: int) -> float:
    """Mean wall seconds of `repeats` steps after one warm-up step."""
    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def top_operators(step: Any, rows: int) -> list[dict[str, Any]]:
    """The operators with the most self CPU time over two profiled steps, as shares."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(2):
            step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [
        {
            "operator": e.key,
            "share": round(e.self_cpu_time_total / total, 4),
            "calls_per_step": e.count // 2,
        }
        for e in events[:rows]
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbones", default="cnn,proteinbert,birnn")
    ap.add_argument("--proteins", type=int, default=32, help="proteins per batch")
    ap.add_argument("--length", type=int, default=512, help="residues per protein")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=12, help="operators listed per backbone")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    result: dict[str, Any] = {
        "command": "benchmarks/profile_train.py " + " ".join(argv or sys.argv[1:]),
        "machine": cpu_description(),
        "threads": args.threads,
        "batch": [args.proteins, args.length],
        "torch": torch.__version__,
        "backbones": {},
    }
    tokens = args.proteins * args.length
    for name in [n.strip() for n in args.backbones.split(",") if n.strip()]:
        step, parameters = step_function(name, args.proteins, args.length, bf16=False)
        fp32 = seconds_per_step(step, args.repeats)
        bf16_step, _ = step_function(name, args.proteins, args.length, bf16=True)
        bf16 = seconds_per_step(bf16_step, args.repeats)
        row = {
            "parameters": parameters,
            "seconds_per_step": round(fp32, 3),
            "tokens_per_second": round(tokens / fp32),
            "bf16_seconds_per_step": round(bf16, 3),
            "top_operators": top_operators(step, args.rows),
        }
        result["backbones"][name] = row
        print(
            f"{name}: {parameters:,} parameters, {fp32:.3f} s/step ({tokens / fp32:,.0f} "
            f"tokens/s), bf16 autocast {bf16:.3f} s/step"
        )
        for op in row["top_operators"]:
            print(f"  {op['share']:6.1%}  {op['operator']} ({op['calls_per_step']} calls/step)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
