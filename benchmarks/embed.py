"""Embedding throughput (residues/s): locflow's embed path against DeepLoc 2.0's predictor loop.

Both sides run the same randomly initialised model of a published shape (no weights needed;
speed depends on the shape, not on the weight values) on the same sequences, in the same run,
interleaved chunk by chunk so that load from other processes hits both alike:

- peer, DeepLoc 2.0 style: one sequence at a time, fp32, eager attention, `torch.no_grad`;
- locflow: `locflow.models.embed.embed_sequences` (length-sorted token-budget batches,
  `torch.inference_mode`, SDPA attention, float16 HDF5 output), in fp32 and in the precision
  `--dtype auto` picks on the machine (bf16 where the hardware runs it natively).

Sequences are real DeepLoc 2.0 sequences (sampled, seeded; clipped the way each backbone
clips) when ../shared/data is present, else random ones with log-normal lengths (median 433).

    .venv/bin/python benchmarks/embed.py                      # ESM-2 35M shape on CPU
    .venv/bin/python benchmarks/embed.py --device cuda --models esm2-650m,prott5 --sequences 2000

Results go to docs/benchmarks.md (section "Embedding throughput", one subsection per machine).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from machine import cpu_name

from locflow.models.backbones import (
    CLIP_HALF,
    SHAPES,
    Backbone,
    build_model,
    clip_sequence,
    resolve_dtype,
)
from locflow.models.embed import DEFAULT_TOKENS, EmbeddingStore, embed_sequences
from locflow.runtime import resolve_device

ROOT = Path(__file__).resolve().parents[1]
DEEPLOC_CSV = ROOT.parent / "shared" / "data" / "deeploc2" / "swissprot_cv.csv.gz"
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Embedding throughput (`benchmarks/embed.py`)"
AMINO = "ACDEFGHIKLMNPQRSTVWY"
# Dense bf16 tensor-core peaks (TFLOP/s, without sparsity) of GPUs the project may run on.
BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def sample_sequences(n: int, seed: int) -> tuple[list[str], str]:
    """`n` sequences with a realistic length distribution, and where they came from."""
    rng = np.random.default_rng(seed)
    if DEEPLOC_CSV.exists():
        with gzip.open(DEEPLOC_CSV, "rt") as fh:
            seqs = [row["Sequence"] for row in csv.DictReader(fh)]
        pick = rng.choice(len(seqs), size=min(n, len(seqs)), replace=False)
        return [seqs[i] for i in pick], f"{n} DeepLoc 2.0 sequences sampled with seed {seed}"
    lengths = np.clip(rng.lognormal(np.log(433), 0.75, size=n), 40, None).astype(int)
    seqs = ["".join(rng.choice(list(AMINO), size=k)) for k in lengths]
    return seqs, f"{n} random sequences, log-normal lengths (median 433), seed {seed}"


def peer_loop(backbone: Backbone, seqs: list[str]) -> list[np.ndarray]:
    """DeepLoc 2.0's predictor style: each sequence alone, fp32, results kept in memory."""
    out = []
    with torch.no_grad():
        for seq in seqs:
            hidden, _ = backbone([seq])
            out.append(hidden[0].float().cpu().numpy())
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_sequence(shape: dict[str, Any], length: int) -> float:
    """Useful forward FLOPs: 2 x weights per token in the linear layers, plus attention."""
    d, layers, ffn = shape["hidden"], shape["layers"], shape["ffn"]
    inner = shape["heads"] * shape.get("kv", d // shape["heads"])
    linear = layers * (4 * d * inner + 2 * d * ffn)
    attention = layers * 2 * length * inner  # scores and weighted sum, per token
    return 2.0 * length * (linear + attention)


def gpu_peak_tflops(device: torch.device) -> tuple[str, float | None]:
    """The GPU's name and its dense bf16 peak, when known."""
    name = torch.cuda.get_device_name(device)
    for key, peak in BF16_PEAK_TFLOPS.items():
        if key in name:
            return name, peak
    return name, None


def machine(device: torch.device) -> str:
    """A one-line description of where this ran."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return f"{torch.get_num_threads()}-core CPU, {cpu_name()} (torch {torch.__version__})"


def run_model(
    key: str, seqs: list[str], device: torch.device, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Time the peer and locflow on one model shape; return one row per method."""
    shape = SHAPES[key]
    name = shape["backbone"]
    dims = {k: v for k, v in shape.items() if k != "backbone"}
    half = CLIP_HALF[name]
    clipped = [clip_sequence(s, half) for s in seqs]
    auto = resolve_dtype("auto", device)
    tmp = Path(tempfile.mkdtemp(prefix="locflow-bench-"))
    with torch.device(device):
        model, tokenizer = build_model(name, seed=0, tokenizer_folder=tmp / "tok", **dims)
    model.config._attn_implementation = "eager"
    peer = Backbone(name, model, tokenizer, checkpoint=key)
    methods: dict[str, Any] = {"peer": None}
    for dtype in dict.fromkeys([torch.float32, auto]):
        with torch.device(device):
            fast, _ = build_model(name, seed=0, tokenizer_folder=tmp / "tok", **dims)
        fast.config._attn_implementation = "sdpa"
        methods[str(dtype).removeprefix("torch.")] = Backbone(
            name, fast.to(dtype), tokenizer, checkpoint=key
        )
    budget = args.tokens_per_batch or DEFAULT_TOKENS.get(device.type, DEFAULT_TOKENS["cuda"])
    chunks = [clipped[i :: args.chunks] for i in range(args.chunks)]
    seconds = dict.fromkeys(methods, 0.0)
    outputs: dict[str, dict[str, np.ndarray]] = {m: {} for m in methods}

    def run(method: str, chunk: list[str], record: bool) -> None:
        _sync(device)
        start = time.perf_counter()
        if method == "peer":
            arrays = peer_loop(peer, chunk)
            got = dict(zip(chunk, arrays, strict=True))
        else:
            out = tmp / f"{method}-{len(seconds)}-{time.perf_counter_ns()}.h5"
            embed_sequences(chunk, out, methods[method], tokens_per_batch=budget)
            store = EmbeddingStore(out)
            got = {s: store.get(s) for s in chunk} if record else {}
        _sync(device)
        if record:
            seconds[method] += time.perf_counter() - start
            outputs[method].update(got)

    warm = sorted(clipped, key=len)[: max(2, len(clipped) // 50)]
    for method in methods:  # first-call costs (kernel selection, allocator) are not throughput
        run(method, warm, record=False)
    order = list(methods)
    for i, chunk in enumerate(chunks):
        for method in order[i % len(order) :] + order[: i % len(order)]:
            run(method, chunk, record=True)
            print(
                f"  {key} chunk {i + 1}/{len(chunks)} {method}: {seconds[method]:.1f} s", flush=True
            )
    residues = sum(len(s) for s in clipped)
    flops = sum(flops_per_sequence(shape, len(s)) for s in clipped)
    peak = gpu_peak_tflops(device)[1] if device.type == "cuda" else None
    rows = []
    for method in methods:
        rate = residues / seconds[method]
        diffs, cosines = [], []
        for s in clipped:
            ref, got = outputs["peer"][s], outputs[method][s].astype(np.float32)
            diffs.append(np.abs(ref - got).max() / np.abs(ref).max())
            cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
            cosines.append(cos.min())
        rows.append(
            {
                "model": key,
                "method": method,
                "seconds": seconds[method],
                "residues_per_s": rate,
                "speedup": seconds["peer"] / seconds[method],
                "tflops": flops / seconds[method] / 1e12,
                "peak_fraction": (flops / seconds[method] / 1e12 / peak) if peak else None,
                "max_rel_diff": float(max(diffs)),
                "min_cosine": float(min(cosines)),
                "residues": residues,
                "budget": budget,
            }
        )
    return rows


def describe(method: str, budget: int) -> str:
    if method == "peer":
        return "DeepLoc 2.0 loop: 1 sequence at a time, fp32, eager attention, no_grad"
    return f"locflow embed: {budget}-token batches, {method}, SDPA, inference_mode, HDF5"


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace, dev: torch.device, source: str,
             wall: float, loads: tuple[float, float]) -> str:  # fmt: skip
    """The subsection for this machine."""
    title = "2-core CPU" if dev.type == "cpu" else machine(dev).split(" (")[0]
    cmd = "python benchmarks/embed.py " + " ".join(sys.argv[1:])
    lines = [
        f"### {title}",
        "",
        f"- command: `{cmd.strip()}`",
        f"- machine: {machine(dev)}; date {datetime.date.today().isoformat()}; "
        f"whole run {wall / 60:.1f} min; load average {loads[0]:.1f} at start, "
        f"{loads[1]:.1f} at end (the machine is shared: other processes compete for its cores)",
        f"- data: {source}; {rows[0]['residues']} residues after clipping; random-init weights "
        "of the published shape; timed chunk by chunk, methods interleaved",
        "- fidelity: each residue vector against the peer's (fp32): largest |difference| / "
        "largest |value| per sequence, and the lowest cosine similarity",
        "",
        "| model | method | residues/s | vs peer | TFLOP/s | of bf16 peak | max rel. diff "
        "| min cosine |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        peak = f"{100 * r['peak_fraction']:.1f}%" if r["peak_fraction"] is not None else "-"
        lines.append(
            f"| {r['model']} | {describe(r['method'], r['budget'])} | {r['residues_per_s']:,.0f} "
            f"| {r['speedup']:.2f}x | {r['tflops']:.3f} | {peak} | {r['max_rel_diff']:.1e} "
            f"| {r['min_cosine']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def write_section(text: str, title_line: str) -> None:
    """Put this machine's subsection into the embedding section, keeping other machines'."""
    doc = DOC.read_text(encoding="utf-8")
    start = doc.index(SECTION) + len(SECTION)
    nxt = doc.find("\n## ", start)
    end = len(doc) if nxt < 0 else nxt + 1
    body = doc[start:end]
    subs = re.split(r"(?m)^(?=### )", body)
    intro, subs = subs[0], [s for s in subs[1:] if not s.startswith(title_line + "\n")]
    intro = intro if intro.strip() else "\n\n"
    new = intro + "".join(s.rstrip("\n") + "\n\n" for s in [*subs, text])
    DOC.write_text(doc[:start] + new + doc[end:], encoding="utf-8")


def main() -> None:
    """Parse options, run every model, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="esm2-35m", help=f"from {', '.join(SHAPES)}")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=4, help="interleaving chunks")
    parser.add_argument("--tokens-per-batch", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    dev = resolve_device(args.device)
    torch.manual_seed(args.seed)
    seqs, source = sample_sequences(args.sequences, args.seed)
    start = time.perf_counter()
    load = os.getloadavg()[0]
    rows = [r for key in args.models.split(",") for r in run_model(key.strip(), seqs, dev, args)]
    loads = (load, os.getloadavg()[0])
    text = markdown(rows, args, dev, source, time.perf_counter() - start, loads)
    print(text)
    if not args.no_write:
        write_section(text, text.splitlines()[0])
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
