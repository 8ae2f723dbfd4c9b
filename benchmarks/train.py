"""5-fold cross-validation of the `cnn` backbone on the real DeepLoc 2.0 set.

Uses DeepLoc 2.0's own `Partition` column (fold K tests, fold (K + 1) mod 5 validates), scores each
test fold with locflow.evaluation.metrics (scikit-learn) and reports mean ± std over folds beside
DeepLoc 1.0's and DeepLoc 2.0's published cross-validation numbers. Measured side by side in the
same run on the same folds: a composition baseline (per-output logistic regression on amino-acid
composition of the whole sequence and its 50-residue ends, thresholds chosen on the same validation
fold), so that the CNN's numbers can be read against something simple.

A full run needs a GPU (`--device cuda`, defaults: all proteins, 511 + 511 residues, 128
channels, 14 epochs). The CPU run documented in docs/benchmarks.md is reduced; its reduction
is printed in the results.

    .venv/bin/python benchmarks/train.py --device cuda                     # full
    .venv/bin/python benchmarks/train.py --per-fold 1200 --clip-half 200 \\
        --channels 64 --epochs 4 --threads 1 --write-docs                  # 2-core CPU
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from machine import cpu_name

from locflow.data.classes import LOCATIONS, SIGNALS
from locflow.data.deeploc import run_import_deeploc
from locflow.data.files import write_json
from locflow.data.tables import read_folds, read_proteins, write_table
from locflow.evaluation.metrics import binary_metrics, location_metrics, signal_metrics, summarize
from locflow.models.batches import token_batches
from locflow.models.checkpoint import load_fold, predict_batch
from locflow.models.head import probabilities_to_labels
from locflow.runtime import reporting, resolve_device, set_threads
from locflow.training.fold import run_train
from locflow.training.settings import TrainSettings
from locflow.training.split import load_split
from locflow.training.thresholds import choose_thresholds

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "deeploc2"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Training, 5-fold cross-validation (`benchmarks/train.py`)"

PUBLISHED = {
    "DeepLoc 1.0 (published CV)": {
        "accuracy": 0.48,
        "jaccard": 0.56,
        "micro_f1": 0.58,
        "macro_f1": 0.47,
    },
    "DeepLoc 2.0 ProtT5 (published CV)": {
        "accuracy": 0.55,
        "jaccard": 0.69,
        "micro_f1": 0.73,
        "macro_f1": 0.66,
    },
}


def prepare(work: Path, per_fold: int | None, seed: int) -> tuple[Path, Path]:
    """Import the DeepLoc CSV (+ sorting signals); optionally keep `per_fold` per partition."""
    proteins, folds = work / "proteins_all.parquet", work / "folds_all.parquet"
    if not proteins.exists():
        run_import_deeploc(
            DATA / "swissprot_cv.csv.gz",
            proteins,
            signals=DATA / "sorting_signals.csv.gz",
            folds_out=folds,
        )
    if per_fold is None:
        return proteins, folds
    table, ftab = read_proteins(proteins), read_folds(folds)
    fold_of = dict(zip(ftab.column("id").to_pylist(), ftab.column("fold").to_pylist(), strict=True))
    rng = np.random.default_rng(seed)
    ids = np.array(table.column("id").to_pylist())
    keep: list[str] = []
    for f in sorted(set(fold_of.values())):
        members = np.array([i for i in ids if fold_of.get(i) == f])
        keep += sorted(rng.choice(members, min(per_fold, len(members)), replace=False).tolist())
    mask = np.isin(ids, keep)
    sub, sub_folds = work / f"proteins_{per_fold}.parquet", work / f"folds_{per_fold}.parquet"
    write_table(table.filter(pa.array(mask)), sub)
    kept = set(keep)
    write_table(
        ftab.filter(pa.array([i in kept for i in ftab.column("id").to_pylist()])), sub_folds
    )
    return sub, sub_folds


def predict_fold(
    model_dir: Path, sequences: list[str], tokens: int, device: torch.device
) -> tuple[Any, dict]:
    """Probabilities [N, 11] and signal probabilities [N, 9] for the test proteins."""
    model, cfg = load_fold(model_dir, device)
    half = cfg["clip_half"]
    probs = np.zeros((len(sequences), 11), dtype=np.float32)
    sigs = np.zeros((len(sequences), 9), dtype=np.float32)
    for idx in token_batches([min(len(s), 2 * half) for s in sequences], tokens):
        pred = predict_batch(model, cfg, [sequences[i] for i in idx])
        probs[idx], sigs[idx] = pred.probabilities, pred.signals
    return (probs, sigs), cfg


def score_fold(probs, sigs, cfg, test) -> dict[str, Any]:
    """Locations, membrane and signals of one test fold, with the fold's thresholds."""
    thresholds = np.array([cfg["thresholds"][o] for o in cfg["outputs"]])
    labels = probabilities_to_labels(probs, thresholds)
    sig_thr = np.array([cfg["signal_thresholds"][s] for s in SIGNALS])
    true_sig = np.zeros((len(test), 9), dtype=bool)
    for i, spans in enumerate(test.signals):
        for sp in spans:
            true_sig[i, SIGNALS.index(sp["type"])] = True
    return {
        "locations": location_metrics(test.targets[:, :10] > 0, labels[:, :10], probs[:, :10]),
        "membrane": binary_metrics(test.targets[:, 10] > 0, labels[:, 10], probs[:, 10]),
        "signals": signal_metrics(true_sig, sigs >= sig_thr),
    }


def baseline_fold(train, val, test) -> dict[str, Any]:
    """The peer: logistic regression on composition (locflow's composition peer alone,
    locflow.training.peer.fit_peer), thresholds chosen on validation by the rule locflow's
    models use (`locflow.training.thresholds.choose_thresholds`)."""
    from locflow.training.peer import fit_peer

    peer = fit_peer(train.sequences, train.targets)
    pv, pt = peer.probabilities(val.sequences), peer.probabilities(test.sequences)
    thresholds, _, _ = choose_thresholds(pv, val.targets)
    labels = probabilities_to_labels(pt, thresholds)
    return {
        "locations": location_metrics(test.targets[:, :10] > 0, labels[:, :10], pt[:, :10]),
        "membrane": binary_metrics(test.targets[:, 10] > 0, labels[:, 10], pt[:, 10]),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the cross-validation and write results (JSON, and optionally the docs section)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/locflow-bench-train"))
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--per-fold", type=int, default=None, help="proteins kept per partition")
    ap.add_argument("--clip-half", type=int, default=511)
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--tokens-per-batch", type=int, default=16384)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument(
        "--docs-from", type=Path, default=None, help="only rewrite the docs from a results.json"
    )
    args = ap.parse_args(argv)
    if args.docs_from:
        write_docs(json.loads(args.docs_from.read_text(encoding="utf-8")))
        return 0
    if not DATA.is_dir():
        print(f"{DATA} is absent; nothing to benchmark", file=sys.stderr)
        return 1
    if args.threads:
        set_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    device = resolve_device(args.device)
    started = time.perf_counter()
    proteins, folds = prepare(args.work, args.per_fold, args.seed)
    cnn = {"channels": args.channels, "dilations": [1, 2, 4, 8, 16], "kernel": 5, "dropout": 0.1}
    runs, peers, timings = [], [], []
    model_dir = args.work / f"model_{args.per_fold}_{args.clip_half}_{args.channels}_{args.epochs}"
    for k in args.folds:
        t0 = time.perf_counter()
        settings = TrainSettings(
            fold=k,
            epochs=args.epochs,
            tokens_per_batch=args.tokens_per_batch,
            seed=args.seed,
            device=args.device,
            clip_half=args.clip_half,
            cnn=cnn,
        )
        with reporting("train", show=sys.stderr.isatty()):
            config = run_train(proteins, folds, model_dir, settings=settings)
        train, val, _, _ = load_split(proteins, folds, k)
        # The test fold K, read as the "validation" split of a fold-(K-1) view of the tables.
        _, test, _, _ = load_split(proteins, folds, (k + 4) % 5, validation_fold=k)
        (probs, sigs), cfg = predict_fold(
            model_dir / f"fold{k}", test.sequences, args.tokens_per_batch, device
        )
        run = score_fold(probs, sigs, cfg, test)
        run["epochs_run"] = config["training"]["epochs_run"]
        runs.append(run)
        train_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        peers.append(baseline_fold(train, val, test))
        timings.append(
            {
                "fold": k,
                "cnn_s": round(train_s, 1),
                "baseline_s": round(time.perf_counter() - t1, 1),
            }
        )
        loc = run["locations"]
        print(
            f"fold {k}: cnn acc {loc['accuracy']:.3f} jaccard {loc['jaccard']:.3f} micro-F1 "
            f"{loc['micro_f1']:.3f} macro-F1 {loc['macro_f1']:.3f} ({train_s:.0f} s, "
            f"{run['epochs_run']} epochs); baseline micro-F1 "
            f"{peers[-1]['locations']['micro_f1']:.3f}",
            flush=True,
        )
    result = {
        "date": dt.date.today().isoformat(),
        "machine": f"{cpu_name()} ({os.cpu_count()} cores), {torch.get_num_threads()} torch "
        "thread(s), "
        + (f"CUDA {torch.cuda.get_device_name()}" if device.type == "cuda" else "CPU"),
        "command": "benchmarks/train.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "proteins": read_proteins(proteins).num_rows,
        "cnn": summarize(runs),
        "baseline": summarize(peers),
        "folds": runs,
        "timings": timings,
        "total_s": round(time.perf_counter() - started, 1),
    }
    write_json(args.work / "results.json", result)
    if args.write_docs:
        write_docs(result)
    print(f"results -> {args.work / 'results.json'} ({result['total_s']:.0f} s)")
    return 0


def _ms(summary: dict[str, Any], key: str) -> str:
    entry = summary.get(key)
    if not entry or entry["mean"] is None:
        return "n/a"
    std = entry["std"]
    return f"{entry['mean']:.3f} ± {std:.3f}" if std is not None else f"{entry['mean']:.3f}"


def write_docs(result: dict[str, Any]) -> None:
    """Replace the Training section of docs/benchmarks.md with this run's table."""
    heads = ("accuracy", "jaccard", "micro_f1", "macro_f1")
    s = result["settings"]
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python {result['command']}`  ",
        f"Machine: {result['machine']}; date {result['date']}; total {result['total_s']:.0f} s.",
        "",
        f"Data: DeepLoc 2.0 SwissProt CV set with its own `Partition` (fold K tests, fold K+1 "
        f"validates), {result['proteins']} proteins"
        + (
            f" (reduced: {s['per_fold']} sampled per partition, seed {s['seed']})"
            if s["per_fold"]
            else ""
        )
        + f"; sequences clipped to {s['clip_half']} + {s['clip_half']} residues; cnn "
        f"{s['channels']} channels, dilations 1-16; at most {s['epochs']} epochs "
        "(early stopping and best epoch on the validation focal BCE, docs/model.md).",
        "",
        "| model | accuracy | Jaccard | micro F1 | macro F1 |",
        "| --- | --- | --- | --- | --- |",
        "| locflow cnn (this run, mean ± std over folds) | "
        + " | ".join(_ms(result["cnn"], f"locations.{h}") for h in heads)
        + " |",
        "| composition + logistic regression (same run, same folds) | "
        + " | ".join(_ms(result["baseline"], f"locations.{h}") for h in heads)
        + " |",
    ]
    for name, vals in PUBLISHED.items():
        lines.append(f"| {name} | " + " | ".join(f"{vals[h]:.2f}" for h in heads) + " |")
    mcc = [f"{c} {_ms(result['cnn'], f'locations.per_class.{c}.mcc')}" for c in LOCATIONS]
    lines += [
        "",
        "Per-location MCC (cnn): " + "; ".join(mcc) + ".  ",
        f"Labels per protein: true {_ms(result['cnn'], 'locations.mean_true_labels')}, "
        f"predicted {_ms(result['cnn'], 'locations.mean_predicted_labels')} (cnn) and "
        f"{_ms(result['baseline'], 'locations.mean_predicted_labels')} (baseline): the "
        "MCC-optimal thresholds of weak models over-call, which is what keeps exact-match "
        "accuracy low. Epochs run per fold: "
        + ", ".join(str(f["epochs_run"]) for f in result["folds"])
        + ".  ",
        f"Membrane MCC {_ms(result['cnn'], 'membrane.mcc')}; signal micro F1 "
        f"{_ms(result['cnn'], 'signals.micro_f1')} (on proteins with annotated signals).  ",
        "Time per fold (s): "
        + ", ".join(
            f"fold {t['fold']} cnn {t['cnn_s']} / baseline {t['baseline_s']}"
            for t in result["timings"]
        )
        + ".",
        "",
        "DeepLoc's own partition is not homology-leak-free (see Partitioning above), so these CV "
        "numbers are optimistic; the published DeepLoc numbers come from full data, full-length "
        "models and (for 2.0) a pretrained ProtT5, not from this reduced CPU run.",
        "",
    ]
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(SECTION)
    nxt = text.find("\n## ", start + len(SECTION))
    end = len(text) if nxt < 0 else nxt + 1
    from locflow.data.files import write_text

    write_text(DOCS, text[:start] + "\n".join(lines) + "\n" + text[end:])


if __name__ == "__main__":
    sys.exit(main())
