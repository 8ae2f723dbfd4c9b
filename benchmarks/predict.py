"""Prediction throughput: `locflow predict` with a cnn ensemble on a human-proteome-sized FASTA.

Writes a FASTA of N proteins whose lengths follow the human proteome's shape (log-normal,
median ~415 residues, a long tail up to titin's 34,350), builds a cnn model folder with the
default architecture (`locflow train`'s defaults; the weights are random, which does not change
the arithmetic), and times:

- locflow: `predict_fasta` end to end (FASTA parsing, length-sorted batches within a padded
  token budget, all fold models, Parquet + CSV + attention HDF5 written);
- the peer: a one-sequence-at-a-time loop over the same loaded models, as DeepLoc 2.0's
  predictor runs (batch size 1), on a random sample of the same proteins (it is too slow to
  run on all of them in the same session), extrapolated as proteins/s.

CPU seconds (all threads) are recorded beside wall seconds: on a machine shared with other jobs
the wall time depends on the load, the CPU time much less.

Usage: .venv/bin/python benchmarks/predict.py [--proteins 20000] [--folds 5] [--peer 1000]
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

import numpy as np
import torch
from machine import cpu_description

from locflow.checkpoint import build_model, save_fold, write_ensemble
from locflow.classes import SIGNALS
from locflow.cnn import CNN_CLIP_HALF
from locflow.model import OUTPUTS
from locflow.predict import load_ensemble, predict_fasta
from locflow.train import TrainSettings

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


def make_model(folder: Path, folds: int) -> None:
    """A cnn model folder with `folds` fold models of the default architecture."""
    defaults = TrainSettings(fold=0)
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
    from locflow.sequences import read_fasta

    ens = load_ensemble(model_dir, "cpu")
    rng = np.random.default_rng(1)
    chosen = set(rng.choice(len(fasta_lengths), size=sample, replace=False).tolist())
    seqs = [r.sequence for i, r in enumerate(read_fasta(fasta)) if i in chosen]
    start, cpu = time.perf_counter(), time.process_time()
    for seq in seqs:
        ens.predict([seq])
    return (time.perf_counter() - start) / len(seqs), (time.process_time() - cpu) / len(seqs)


def main() -> None:
    """Run the benchmark and print a Markdown table row set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proteins", type=int, default=20_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--peer", type=int, default=1000, help="proteins for the peer loop")
    parser.add_argument("--tokens-per-batch", type=int, default=16384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lengths = human_lengths(args.proteins, args.seed)
        fasta = tmp / "proteome.fasta"
        write_fasta(fasta, lengths, args.seed)
        make_model(tmp / "model", args.folds)
        start, cpu = time.perf_counter(), time.process_time()
        summary = predict_fasta(
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
