"""Prediction throughput: `locflow predict` with a cnn ensemble on a human-proteome-sized FASTA.

Writes a FASTA of N proteins whose lengths follow the human proteome's shape (log-normal,
median ~415 residues, a long tail up to titin's 34,350), builds a cnn model folder with the
default architecture (`locflow train`'s defaults; the weights are random, which does not change
the arithmetic), and times:

- locflow: `run_predict` end to end (FASTA parsing, length-sorted batches within a padded
  token budget, all fold models, Parquet + CSV + attention HDF5 written);
- the peer: a one-sequence-at-a-time loop over the same loaded models, as DeepLoc 2.0's
  predictor runs (batch size 1), on a random sample of the same proteins (it is too slow to
  run on all of them in the same session), extrapolated as proteins/s.

CPU seconds (all threads) are recorded beside wall seconds: on a machine shared with other jobs
the wall time depends on the load, the CPU time much less.

With ``--memory 20000,200000`` it measures instead the peak resident memory of `run_predict`
for each FASTA size, each in a fresh process (so one size's peak cannot hide another's): the
FASTA is streamed in chunks, so the peak should not grow with the number of proteins.

Usage: .venv/bin/python benchmarks/predict.py [--proteins 20000] [--folds 5] [--peer 1000]
       .venv/bin/python benchmarks/predict.py --memory 20000,200000 [--folds 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from machine import cpu_description

from locflow.data.classes import OUTPUTS, SIGNALS
from locflow.models.checkpoint import build_model, save_fold, write_ensemble
from locflow.models.cnn import CNN_CLIP_HALF
from locflow.prediction.ensemble import load_ensemble
from locflow.prediction.predict import run_predict
from locflow.runtime import set_threads
from locflow.training.settings import TrainSettings

# Human amino-acid composition (approximate, percent) for realistic sequences.
HUMAN_AA = dict(
    zip(
        "LSAEGPVKRTQDIFNYHCMW",
        (
            9.9,
            8.3,
            7.0,
            7.1,
            6.6,
            6.3,
            6.0,
            5.7,
            5.6,
            5.4,
            4.8,
            4.7,
            4.3,
            3.7,
            3.6,
            2.7,
            2.6,
            2.3,
            2.1,
            1.2,
        ),
        strict=True,
    )
)


def human_lengths(n: int, seed: int) -> np.ndarray:
    """Log-normal lengths with the human proteome's median (~415) and tail, 40..34,350."""
    rng = np.random.default_rng(seed)
    lengths = rng.lognormal(mean=np.log(415), sigma=0.75, size=n).astype(int)
    lengths = np.clip(lengths, 40, 34_350)
    lengths[rng.integers(0, n)] = 34_350  # the proteome has one titin
    return lengths


def write_fasta(path: Path, lengths: np.ndarray, seed: int) -> None:
    """Random proteins with human residue frequencies."""
    rng = random.Random(seed)
    letters, weights = list(HUMAN_AA), list(HUMAN_AA.values())
    with open(path, "w") as fh:
        for i, n in enumerate(lengths):
            seq = "M" + "".join(rng.choices(letters, weights, k=int(n) - 1))
            fh.write(f">sp|BENCH{i:05d}|PROT{i}_HUMAN benchmark protein {i}\n")
            for k in range(0, len(seq), 60):
                fh.write(seq[k : k + 60] + "\n")


SMALL_CNN = {"channels": 8, "dilations": [1], "kernel": 3, "dropout": 0.0}
"""A cnn small enough that the memory benchmark's 200,000 proteins take minutes on 2 cores:
the peak memory of streaming does not depend on the network's width."""


def make_model(folder: Path, folds: int, cnn: dict[str, Any] | None = None) -> None:
    """A cnn model folder with `folds` fold models (default architecture unless `cnn`)."""
    defaults = TrainSettings(fold=0)
    if cnn is not None:
        defaults.cnn, defaults.hidden = cnn, 32
    for k in range(folds):
        config = {
            "backbone": "cnn",
            "checkpoint": None,
            "lora": False,
            "pooling": "attention",
            "hidden": defaults.hidden,
            "clip_half": CNN_CLIP_HALF,
            "outputs": list(OUTPUTS),
            "signals": list(SIGNALS),
            "fold": k,
            "validation_fold": (k + 1) % folds,
            "folds": folds,
            "seed": k,
            "cnn": defaults.cnn,
            "dim": defaults.cnn["channels"],
            "thresholds": {o: 0.5 for o in OUTPUTS},
            "signal_thresholds": {s: 0.5 for s in SIGNALS},
        }
        torch.manual_seed(k)
        save_fold(folder / f"fold{k}", build_model(config), config)
    write_ensemble(folder)


def peer_loop(
    model_dir: Path, fasta_lengths: np.ndarray, fasta: Path, sample: int
) -> tuple[float, float]:
    """(Wall, CPU) seconds per protein for batch-size-1 prediction on a random sample."""
    from locflow.data.sequences import read_fasta

    ens = load_ensemble(model_dir, "cpu")
    rng = np.random.default_rng(1)
    chosen = set(rng.choice(len(fasta_lengths), size=sample, replace=False).tolist())
    seqs = [r.sequence for i, r in enumerate(read_fasta(fasta)) if i in chosen]
    start, cpu = time.perf_counter(), time.process_time()
    for seq in seqs:
        ens.predict([seq])
    return (time.perf_counter() - start) / len(seqs), (time.process_time() - cpu) / len(seqs)


def write_fasta_fast(path: Path, lengths: np.ndarray, seed: int) -> None:
    """Like `write_fasta`, drawn with numpy (hundreds of millions of residues in seconds)."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer("".join(HUMAN_AA).encode(), dtype=np.uint8)
    weights = np.array(list(HUMAN_AA.values()))
    weights = weights / weights.sum()
    with open(path, "wb") as fh:
        for start in range(0, len(lengths), 10_000):
            block = lengths[start : start + 10_000]
            residues = rng.choice(letters, size=int(block.sum()), p=weights).tobytes()
            offset = 0
            for i, n in enumerate(block.tolist(), start):
                seq = b"M" + residues[offset + 1 : offset + n]
                offset += n
                lines = b"\n".join(seq[k : k + 60] for k in range(0, len(seq), 60))
                fh.write(b">sp|BENCH%07d|PROT%d_HUMAN benchmark protein\n%s\n" % (i, i, lines))


def _peak_child(fasta: str, model: str, out: str, tokens: int, queue: Any) -> None:
    """In a fresh process: predict, then report (peak RSS in bytes, summary, seconds)."""
    import resource

    set_threads(1)  # memory does not depend on threads; leave a core to others
    start = time.perf_counter()
    summary = run_predict(fasta, model, out, device="cpu", tokens_per_batch=tokens)
    seconds = time.perf_counter() - start
    queue.put((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, summary, seconds))


def memory_benchmark(sizes: list[int], folds: int, tokens: int, seed: int) -> dict[str, Any]:
    """Peak RSS of run_predict for FASTA files of each size, each in its own process."""
    import multiprocessing

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_model(tmp / "model", folds, SMALL_CNN)
        for n in sizes:
            lengths = human_lengths(n, seed)
            fasta = tmp / f"proteome{n}.fasta"
            write_fasta_fast(fasta, lengths, seed)
            ctx = multiprocessing.get_context("spawn")
            queue = ctx.Queue()
            args = (str(fasta), str(tmp / "model"), str(tmp / f"out{n}"), tokens, queue)
            proc = ctx.Process(target=_peak_child, args=args)
            proc.start()
            peak, summary, seconds = queue.get()
            proc.join()
            assert summary["predicted"] == n, summary
            runs.append(
                {
                    "proteins": n,
                    "residues": int(lengths.sum()),
                    "fasta_mb": round(fasta.stat().st_size / 2**20, 1),
                    "peak_rss_mb": round(peak / 2**20, 1),
                    "seconds": round(seconds, 1),
                }
            )
            fasta.unlink()
    base = runs[0]["peak_rss_mb"]
    return {
        "date": dt.date.today().isoformat(),
        "machine": cpu_description(),
        "torch": torch.__version__,
        "folds": folds,
        "cnn": SMALL_CNN,
        "tokens_per_batch": tokens,
        "runs": runs,
        "peak_ratio_to_smallest": [round(r["peak_rss_mb"] / base, 3) for r in runs],
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    """Run the benchmark and print a Markdown table row set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proteins", type=int, default=20_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--peer", type=int, default=1000, help="proteins for the peer loop")
    parser.add_argument("--tokens-per-batch", type=int, default=16384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--memory", help="comma-separated FASTA sizes: measure peak RSS of each instead"
    )
    args = parser.parse_args()
    set_threads(os.cpu_count() or 1)
    if args.memory:
        sizes = [int(n) for n in args.memory.split(",")]
        result = memory_benchmark(sizes, args.folds, args.tokens_per_batch, args.seed)
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lengths = human_lengths(args.proteins, args.seed)
        fasta = tmp / "proteome.fasta"
        write_fasta(fasta, lengths, args.seed)
        make_model(tmp / "model", args.folds)
        start, cpu = time.perf_counter(), time.process_time()
        summary = run_predict(
            fasta,
            tmp / "model",
            tmp / "out",
            device="cpu",
            tokens_per_batch=args.tokens_per_batch,
        )
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        assert summary["predicted"] == args.proteins
        per_protein, peer_cpu = peer_loop(
            tmp / "model", lengths, fasta, min(args.peer, args.proteins)
        )

    clipped = np.minimum(lengths, 2 * CNN_CLIP_HALF)
    result = {
        "date": dt.date.today().isoformat(),
        "machine": cpu_description(),
        "torch": torch.__version__,
        "proteins": args.proteins,
        "folds": args.folds,
        "median_length": int(np.median(lengths)),
        "mean_length": round(float(lengths.mean()), 1),
        "max_length": int(lengths.max()),
        "residues_read": int(clipped.sum()),
        "locflow_seconds": round(seconds, 1),
        "locflow_proteins_per_s": round(args.proteins / seconds, 1),
        "locflow_cpu_seconds": round(cpu_seconds, 1),
        "peer_sample": min(args.peer, args.proteins),
        "peer_proteins_per_s": round(1 / per_protein, 2),
        "peer_seconds_extrapolated": round(per_protein * args.proteins, 1),
        "peer_cpu_seconds_extrapolated": round(peer_cpu * args.proteins, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
