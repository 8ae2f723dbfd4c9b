"""Compare the backbones that need no pretrained weights on the same folds and budget.

Trains `cnn`, `proteinbert` and `birnn` (locflow.models.registry; default shapes unless `--set`)
on the same folds with the same maximum epochs and the same time budget per fold, scores each
fold model on its own test fold with `locflow evaluate --folds`, and measures beside them the
composition + logistic-regression baseline of benchmarks/train.py on the same folds (its
thresholds chosen on the same validation fold by the same rule). Writes JSON and a Markdown
table: exact-match accuracy, Jaccard, micro/macro F1, per-location MCC, locations per protein
predicted and true, training time, parameters, the size of five folds, and the best backbone
(highest mean micro F1, then macro F1).

Folds: `--folds-table` (e.g. locflow's homology partition made earlier), `--deeploc-partition`
(DeepLoc's own `Partition` column), or else locflow's partition computed here (MMseqs2).

    .venv/bin/python benchmarks/compare_backbones.py --folds-table folds.parquet \\
        --folds 0 --epochs 14 --device cuda --jobs 3 --tokens-per-batch 131072
    .venv/bin/python benchmarks/compare_backbones.py --subset 300 --epochs 1 \\
        --deeploc-partition --device cpu --work /tmp/cmp                     # smoke run
    .venv/bin/python benchmarks/compare_backbones.py --docs-from compare_backbones.json

The last form puts a run's table into docs/benchmarks.md (its section replaced or appended).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing locflow
    sys.path.insert(0, str(ROOT / "src"))

import make_model as mm  # noqa: E402  (scripts/make_model.py: data, partition, training jobs)

from locflow.prediction.shipped import mean_std  # noqa: E402

HEADLINE = (
    ("accuracy", "accuracy"),
    ("jaccard", "Jaccard"),
    ("micro_f1", "micro F1"),
    ("macro_f1", "macro F1"),
)
BASELINE = "composition + LR"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Backbones trained from scratch (`benchmarks/compare_backbones.py`)"


def parse_sets(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """`backbone.key=value` options, grouped by backbone."""
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        name, dot, rest = pair.partition(".")
        if not dot:
            raise SystemExit(f"--set {pair!r}: expected BACKBONE.KEY=VALUE")
        grouped.setdefault(name, []).append(rest)
    return {name: mm.parse_options(items) for name, items in grouped.items()}


def baseline(proteins: Path, folds: Path, fold_ids: list[int]) -> dict[str, Any]:
    """The composition + logistic-regression peer on each test fold, timed."""
    from train import baseline_fold  # benchmarks/train.py

    from locflow.evaluation.metrics import summarize
    from locflow.training.split import load_split

    runs, seconds = [], []
    for k in fold_ids:
        start = time.perf_counter()
        train, val, _, n_folds = load_split(proteins, folds, k)
        # The test fold K, read as the "validation" split of another fold's view of the tables.
        _, test, _, _ = load_split(proteins, folds, (k + n_folds - 1) % n_folds, k)
        runs.append(baseline_fold(train, val, test))
        seconds.append(round(time.perf_counter() - start, 1))
    return {
        "per_fold": {str(k): r for k, r in zip(fold_ids, runs, strict=True)},
        "summary": summarize(runs),
        "training": [{"fold": k, "seconds": s} for k, s in zip(fold_ids, seconds, strict=True)],
        # One weight per feature (61: three compositions and log length) and a bias, per output.
        "parameters": 11 * 62,
    }


def markdown(result: dict[str, Any]) -> str:
    """The comparison as Markdown (headline table, per-location MCC, settings)."""
    from locflow.data.classes import LOCATIONS

    s = result["settings"]
    rows = {**result["models"], BASELINE: result["baseline"]}
    lines = [
        SECTION,
        "",
        f"Command: `{result['command']}`  ",
        f"Machine: {result['machine']}; date {result['date']}; total {result['total_s']:.0f} s.",
        "",
        f"Data: {result['proteins']} proteins; folds: {result['partition']}; test fold(s) "
        f"{s['folds']} (fold K tests, K+1 validates, the rest train); at most {s['epochs']} "
        f"epochs and {s['max_minutes']} min per fold for every backbone; "
        f"{s['tokens_per_batch']} padded tokens per batch, sequences clipped to "
        f"{s['clip_half'] or 511} + {s['clip_half'] or 511} residues. Scores: the predictor's "
        "labels (at least one location) on the test fold(s), mean ± std over folds.",
        "",
        "| model | parameters | 5 folds (MB) | training s per fold | epochs run | "
        + " | ".join(n for _, n in HEADLINE)
        + " | locations per protein, predicted (true) |",
        "| --- | ---: | ---: | ---: | ---: | " + " | ".join("---" for _ in HEADLINE) + " | --- |",
    ]
    for name, r in rows.items():
        sm = r["summary"]
        secs = ", ".join(f"{t['seconds']:.0f}" for t in r["training"])
        epochs = ", ".join(str(t.get("epochs_run", "-")) for t in r["training"])
        size = f"{5 * 4 * r['parameters'] / 1e6:.1f}" if r.get("parameters") else "-"
        star = " **(best)**" if name == result["best"] else ""
        lines.append(
            f"| {name}{star} | {r.get('parameters') or '-':,} | {size} | {secs} | {epochs} | "
            + " | ".join(mean_std(sm, f"locations.{h}") for h, _ in HEADLINE)
            + f" | {mean_std(sm, 'locations.mean_predicted_labels')} "
            f"({mean_std(sm, 'locations.mean_true_labels')}) |"
        )
    lines += [
        "",
        "Per-location MCC:",
        "",
        "| location | " + " | ".join(rows) + " |",
        "| --- | " + " | ".join("---" for _ in rows) + " |",
    ]
    for loc in LOCATIONS:
        key = f"locations.per_class.{loc}.mcc"
        lines.append(
            f"| {loc} | " + " | ".join(mean_std(r["summary"], key) for r in rows.values()) + " |"
        )
    lines.append("")
    return "\n".join(lines)


def write_docs(result: dict[str, Any]) -> None:
    """Replace (or append) this comparison's section of docs/benchmarks.md."""
    from locflow.data.files import write_text

    text = DOCS.read_text(encoding="utf-8")
    section = markdown(result)
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        end = len(text) if nxt < 0 else nxt + 1
        text = text[:start] + section + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    write_text(DOCS, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=mm.DATA, help="folder with the DeepLoc CSVs")
    ap.add_argument("--work", type=Path, default=Path("/tmp/locflow-compare"))
    ap.add_argument("--proteins", type=Path, help="a proteins table imported earlier from --data")
    ap.add_argument("--folds-table", type=Path, help="a folds table made earlier")
    ap.add_argument("--deeploc-partition", action="store_true", help="DeepLoc's own Partition")
    ap.add_argument("--backbones", default="cnn,proteinbert,birnn")
    ap.add_argument("--set", action="append", default=[], metavar="BACKBONE.KEY=VALUE",
                    help="a backbone option, e.g. cnn.channels=128 (repeatable)")  # fmt: skip
    ap.add_argument("--folds", type=int, nargs="+", default=[0], help="test folds to run")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--max-minutes", type=float, default=None, help="time budget per fold")
    mm.add_loss_options(ap)
    # Off by default: the comparison is of backbones; on, it scores the shipped settings.
    mm.add_peer_option(ap, default=False)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--jobs", type=int, default=1, help="trainings at once (GPU: one per model)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads per job")
    ap.add_argument("--mmseqs-threads", type=int, default=2)
    ap.add_argument("--tokens-per-batch", type=int, default=16384)
    ap.add_argument("--clip-half", type=int, default=None)
    ap.add_argument("--subset", type=int, default=None, help="N random proteins (smoke run)")
    ap.add_argument("--json", type=Path, default=None, help="results JSON (default in --work)")
    ap.add_argument("--markdown", type=Path, default=None, help="table (default in --work)")
    ap.add_argument("--docs-from", type=Path, help="only write a results JSON into the docs")
    args = ap.parse_args(argv)
    if args.docs_from:
        import json

        write_docs(json.loads(args.docs_from.read_text(encoding="utf-8")))
        return 0
    command = "benchmarks/compare_backbones.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )

    from locflow.data.files import write_json, write_text
    from locflow.evaluation.evaluate import run_evaluate
    from locflow.models.registry import backbone_spec

    started = time.perf_counter()
    work = args.work
    names = [n.strip() for n in args.backbones.split(",") if n.strip()]
    sets = parse_sets(args.set)
    options = {n: backbone_spec(n).options(sets.get(n)) for n in names}
    if args.deeploc_partition and args.proteins:
        raise SystemExit("--deeploc-partition imports the CSV with its Partition: drop --proteins")
    data = mm.import_data(args.data, work, args.proteins)
    proteins = Path(data["proteins_table"]["path"])
    if args.subset:
        proteins = mm.subset(
            proteins, args.subset, args.seed, work / f"proteins_{args.subset}.parquet"
        )
    if args.folds_table or args.deeploc_partition:
        source = args.folds_table or work / "deeploc_partition.parquet"
        folds = source
        if args.subset:
            folds = mm.restrict_folds(folds, proteins, work / f"folds_{args.subset}.parquet")
        part = mm.given_partition(folds, proteins, source)
        if args.deeploc_partition:
            part["command"] = "DeepLoc 2.0's own Partition column (not homology-separated)"
    else:
        folds, part = mm.partition(proteins, work, args.seed, args.mmseqs_threads)
    mm.log(f"folds {part['fold_sizes']}: {part['command']}")

    jobs = []
    for name in names:
        for k in args.folds:
            if mm.finished(work / f"model_{name}", k):
                continue
            settings = mm.fold_settings(args, k, name, options[name])
            model_dir = work / f"model_{name}"
            jobs.append(mm.fold_job(proteins, folds, work, model_dir, settings, args.threads))
    mm.train_all(jobs, args.jobs, work)

    models: dict[str, Any] = {}
    for name in names:
        mm.log(f"evaluating {name} on its test fold(s)")
        metrics = run_evaluate(
            work / f"model_{name}", proteins, work / f"evaluate_{name}", folds=folds,
            device=args.device, tokens_per_batch=args.tokens_per_batch,
        )  # fmt: skip
        timings = mm.read_timings(work, name)
        training = [timings[str(k)] for k in args.folds]
        models[name] = {
            "summary": metrics["summary"],
            "per_fold": metrics["per_fold"],
            "training": training,
            "parameters": training[0]["parameters"],
            "options": options[name],
        }
    mm.log("composition + logistic-regression baseline")
    peer = baseline(proteins, folds, args.folds)

    def rank(name: str) -> tuple[float, float]:
        sm = models[name]["summary"]
        return (
            (sm.get("locations.micro_f1") or {}).get("mean") or 0.0,
            (sm.get("locations.macro_f1") or {}).get("mean") or 0.0,
        )

    result = {
        "date": dt.date.today().isoformat(),
        "command": command,
        "machine": mm.machine(args.device),
        "versions": mm.versions(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "proteins": args.subset or data["proteins"],
        "partition": part["command"],
        "partition_record": part,
        "models": models,
        "baseline": peer,
        "best": max(names, key=rank),
        "total_s": round(time.perf_counter() - started, 1),
    }
    out_json = args.json or work / "compare_backbones.json"
    out_md = args.markdown or work / "compare_backbones.md"
    write_json(out_json, result)
    write_text(out_md, markdown(result))
    print(markdown(result))
    mm.log(f"best: {result['best']}; results -> {out_json}, {out_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
