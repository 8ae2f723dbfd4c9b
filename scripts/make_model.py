"""Build locflow's shipped default model from the DeepLoc 2.0 data (`make model`).

Steps, each resumable (a rerun skips what is finished):

1. import the DeepLoc 2.0 CSV and its sorting signals (`locflow import-deeploc`);
2. partition by homology with locflow's own partition and audit it (`locflow partition`,
   `locflow audit`; MMseqs2 needed), or take a folds table made earlier (`--folds-table`,
   with its partition report `<table>.json` and an `audit.json` beside it when present);
3. train the 5 folds of one backbone (`locflow train`; fold K tests, K+1 validates), one
   process per fold when `--jobs` > 1 (a GPU trains several folds at once); finished folds
   are skipped, an interrupted one resumes; the attention terms weigh SCRATCH_KL_WEIGHT and
   SCRATCH_DCT_WEIGHT (chosen on a validation fold), not DeepLoc's 0.1 and 0.1, and each fold
   blends in a composition peer (`--no-composition-peer` leaves it out) whose weight its
   validation fold chooses;
4. cross-validate with `locflow evaluate --folds` (each fold model on its own test fold);
5. write provenance.json (data files and sha256, partition, audit, command, seeds, machine,
   times), the model card, and install the model into src/locflow/default_model/ (at most
   20 MB; `--no-install` leaves the package alone).

    .venv/bin/python scripts/make_model.py --device cuda --jobs 5          # the real one
    .venv/bin/python scripts/make_model.py --subset 300 --epochs 1 \\
        --work /tmp/mm --no-install                                         # a smoke run

Other scripts import its steps (benchmarks/compare_backbones.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing locflow
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

DATA = ROOT.parent / "shared" / "data" / "deeploc2"
CSV, SIGNALS = "swissprot_cv.csv.gz", "sorting_signals.csv.gz"
RELEASE = "DeepLoc-2.0"


def log(message: str) -> None:
    """A timestamped progress line on stdout."""
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`key=value` backbone options; values are JSON when they parse (numbers, lists)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


# --- data -----------------------------------------------------------------------------------


def import_data(data: Path, work: Path, proteins: Path | None = None) -> dict[str, Any]:
    """Import the DeepLoc CSV + signals into work/proteins.parquet (kept when already there),
    or record `proteins`, a table imported earlier from the same files."""
    from locflow.data.deeploc import run_import_deeploc
    from locflow.data.files import file_sha256
    from locflow.data.tables import read_proteins

    csv, signals = data / CSV, data / SIGNALS
    work.mkdir(parents=True, exist_ok=True)
    if proteins is None:
        proteins = work / "proteins.parquet"
    if not proteins.exists():
        log(f"importing {csv}")
        run_import_deeploc(
            csv,
            proteins,
            signals=signals if signals.exists() else None,
            folds_out=work / "deeploc_partition.parquet",
        )
    return {
        "release": RELEASE,
        "proteins": read_proteins(proteins).num_rows,
        "csv": {"path": shown(csv), "sha256": file_sha256(csv)},
        "signals": {"path": shown(signals), "sha256": file_sha256(signals)}
        if signals.exists()
        else None,
        "proteins_table": {"path": str(proteins), "sha256": file_sha256(proteins)},
        "import_command": f"locflow import-deeploc {shown(csv)} --signals {shown(signals)} "
        f"--out {proteins}",
    }


def shown(path: Path) -> str:
    """A data file's path as the card shows it: relative to the checkout (as `make model`
    passes DEEPLOC_DATA), so that it names no folder of the machine that built the model."""
    return os.path.relpath(path.resolve(), ROOT)


def subset(proteins: Path, n: int, seed: int, out: Path) -> Path:
    """A random subset of `n` proteins (for smoke runs), written once to `out`."""
    import numpy as np
    import pyarrow as pa

    from locflow.data.tables import read_proteins, write_table

    if not out.exists():
        table = read_proteins(proteins)
        pick = np.zeros(table.num_rows, dtype=bool)
        pick[np.random.default_rng(seed).choice(table.num_rows, n, replace=False)] = True
        write_table(table.filter(pa.array(pick)), out)
    return out


def restrict_folds(folds: Path, proteins: Path, out: Path) -> Path:
    """The rows of a folds table whose proteins are in `proteins` (written once to `out`)."""
    import pyarrow as pa

    from locflow.data.tables import read_folds, read_proteins, write_table

    if not out.exists():
        ids = set(read_proteins(proteins).column("id").to_pylist())
        table = read_folds(folds)
        keep = [i in ids for i in table.column("id").to_pylist()]
        write_table(table.filter(pa.array(keep)), out)
    return out


def partition(proteins: Path, work: Path, seed: int, threads: int) -> tuple[Path, dict]:
    """locflow's homology partition (5 folds, identity 0.3) and its audit, whose crossing
    pairs (if any) the provenance and the model card report."""
    from locflow.data.files import read_json
    from locflow.homology.audit import run_audit
    from locflow.homology.mmseqs import RunOptions
    from locflow.homology.partition import run_partition

    folds, audit_json = work / "folds.parquet", work / "audit.json"
    if not folds.exists():
        log("partitioning (MMseqs2)")
        run_partition(
            proteins, folds, k=5, threshold=0.3, seed=seed, options=RunOptions(threads=threads)
        )
    if not audit_json.exists():
        log("auditing the partition (MMseqs2)")
        run_audit(
            proteins, [folds], threshold=0.3, options=RunOptions(threads=threads), out=audit_json
        )
    command = (
        f"locflow partition {proteins} --out {folds} --folds 5 --threshold 0.3 --seed {seed} "
        f"--threads {threads}; locflow audit {proteins} {folds} --report {audit_json}"
    )
    return folds, describe_partition(folds, command, read_json(audit_json))


def given_partition(folds: Path, proteins: Path, source: Path | None = None) -> dict[str, Any]:
    """Describe a folds table made elsewhere: its partition report (`<table>.json`) and
    `audit.json` beside `source`, the table it was cut from (default: itself), if there."""
    from locflow.data.files import read_json
    from locflow.data.tables import read_folds, read_proteins
    from locflow.errors import InputError

    ids = set(read_proteins(proteins).column("id").to_pylist())
    table = read_folds(folds)
    covered = ids & set(table.column("id").to_pylist())
    if len(covered) < len(ids):
        raise InputError(
            f"{folds}: holds {len(covered)} of the {len(ids)} proteins of {proteins}; "
            "is it a partition of these data?"
        )
    source = source or folds
    report_path = source.with_suffix(".json")
    command = f"a folds table made earlier: {folds} (no partition report beside it)"
    if report_path.exists():
        r = read_json(report_path)
        mm = r.get("mmseqs", {})
        command = (
            f"locflow partition {Path(str(r.get('input', '?'))).name} --out {source.name} "
            f"--folds {r.get('folds')} --threshold {r.get('threshold')} --seed {r.get('seed')} "
            f"(MMseqs2 {mm.get('version', '?')}, "
            + ("exhaustive" if mm.get("exhaustive") else f"-s {mm.get('sensitivity')}")
            + ")"
        )
    audit = source.parent / "audit.json"
    return describe_partition(folds, command, read_json(audit) if audit.exists() else None)


def describe_partition(folds: Path, command: str, audit: dict | None) -> dict[str, Any]:
    """What the provenance keeps of a partition: table sha256, command, sizes, audit."""
    from collections import Counter

    from locflow.data.files import file_sha256
    from locflow.data.tables import read_folds

    sizes = Counter(read_folds(folds).column("fold").to_pylist())
    if audit is None:
        verdict = "not run on this machine and no audit.json beside the folds table"
    else:
        verdict = audit_verdict(audit, audit.get("results", []))
    return {
        "folds_table": {"path": str(folds), "sha256": file_sha256(folds)},
        "command": command,
        "fold_sizes": [sizes[k] for k in sorted(k for k in sizes if k >= 0)],
        "removed": sizes.get(-1, 0),
        "audit": verdict,
    }


def audit_verdict(audit: dict[str, Any], results: list[dict[str, Any]]) -> str:
    """One line: the crossing pairs `locflow audit` found in `results` and how it searched."""
    pairs = sum(int(r.get("crossing_pairs", 0)) for r in results)
    search = audit.get("search") or {}
    how = (
        "every pair aligned"
        if search.get("exhaustive")
        else f"MMseqs2 -s {search.get('sensitivity')}, up to {search.get('max_seqs')} candidates"
    )
    return (
        f"{pairs} homolog pairs across folds at identity > {audit.get('threshold')} "
        f"(locflow audit: {how})"
    )


def refresh_audit(model: Path, report: Path, table: Path) -> str:
    """Record in a built model folder an audit run after it was built (the partition is
    audited on a CPU machine while the folds train elsewhere): `table` must be the very folds
    table the model was trained on (sha256), and `report` a `locflow audit` report on it."""
    from locflow.data.files import file_sha256, read_json
    from locflow.errors import InputError
    from locflow.prediction.shipped import PROVENANCE, write_card

    provenance = read_json(model / PROVENANCE)
    trained_on = provenance["partition"]["folds_table"]["sha256"]
    if file_sha256(table) != trained_on:
        raise InputError(f"{table}: not the folds table {model} was trained on (sha256 differs)")
    audit = read_json(report)
    mine = [r for r in audit.get("results", []) if Path(r["name"]).resolve() == table.resolve()]
    if not mine:
        raise InputError(f"{report}: audits no table at {table}")
    verdict = audit_verdict(audit, mine)
    provenance["partition"]["audit"] = verdict
    provenance["partition"]["audit_report"] = {"path": str(report), "sha256": file_sha256(report)}
    write_card(model, provenance)
    return verdict


# --- training -------------------------------------------------------------------------------


def _train_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one fold (in this process or a worker); returns its summary and seconds."""
    from locflow.models.registry import backbone_spec
    from locflow.runtime import set_threads
    from locflow.training.fold import run_train
    from locflow.training.settings import TrainSettings

    if job.get("threads"):
        set_threads(int(job["threads"]))
    settings = TrainSettings(**job["settings"])
    start = time.perf_counter()
    config = run_train(job["proteins"], job["folds"], job["out"], settings=settings)
    seconds = round(time.perf_counter() - start, 1)
    spec = backbone_spec(settings.backbone)
    from locflow.models.checkpoint import build_model
    from locflow.models.registry import count_parameters

    params = count_parameters(build_model(config)) if spec.from_scratch else None
    training = config["training"]
    return {
        "fold": settings.fold,
        "backbone": settings.backbone,
        "seconds": seconds,
        "epochs_run": training["epochs_run"],
        "best_epoch": training["best_epoch"],
        "stopped_by_time_budget": training.get("stopped_by_time_budget", False),
        "parameters": params,
        "label_count": config["validation"].get("label_count"),
        "peer_weight": (config.get("composition_peer") or {}).get("weight"),
        "parallel_jobs": job.get("parallel", 1),
    }


def fold_settings(args: argparse.Namespace, k: int, backbone: str, options: dict) -> dict:
    """TrainSettings fields of fold k from the command line (shared with compare_backbones)."""
    return {
        "fold": k,
        "backbone": backbone,
        backbone: options,
        "epochs": args.epochs,
        "seed": args.seed + k,
        "device": args.device,
        "tokens_per_batch": args.tokens_per_batch,
        "clip_half": args.clip_half,
        "kl_weight": args.kl_weight,
        "dct_weight": args.dct_weight,
        "composition_peer": getattr(args, "composition_peer", False),
        "max_seconds": None if args.max_minutes is None else 60 * args.max_minutes,
    }


# The attention terms' weights for a backbone trained from scratch, chosen on validation fold 1
# by benchmarks/attention_weights.py (docs/benchmarks.md); DeepLoc 2.0, which trains on a
# pretrained language model, weights both 0.1 (`locflow train`'s defaults).
SCRATCH_KL_WEIGHT = 0.01
SCRATCH_DCT_WEIGHT = 0.0


def add_loss_options(ap: argparse.ArgumentParser) -> None:
    """The loss weights of DeepLoc's two attention terms (shared with compare_backbones)."""
    ap.add_argument("--kl-weight", type=float, default=SCRATCH_KL_WEIGHT,
                    help="weight of the attention-to-signal KL term")  # fmt: skip
    ap.add_argument("--dct-weight", type=float, default=SCRATCH_DCT_WEIGHT,
                    help="weight of the DCT attention prior")  # fmt: skip


def add_peer_option(ap: argparse.ArgumentParser, default: bool) -> None:
    """Whether each fold blends in a composition peer (`locflow train --composition-peer`)."""
    ap.add_argument("--composition-peer", action=argparse.BooleanOptionalAction, default=default,
                    help="blend a composition logistic regression into each fold, its weight "
                    "chosen on the validation fold")  # fmt: skip


def fold_job(
    proteins: Path, folds: Path, work: Path, model_dir: Path, settings: dict, threads: int | None
) -> dict[str, Any]:
    """A training job: the fold trains (and resumes) in a staging folder of its own, so that
    folds training at once never see each other's unfinished folders, and moves into
    `model_dir` when done (`train_all`)."""
    k, name = settings["fold"], settings["backbone"]
    return {
        "proteins": str(proteins),
        "folds": str(folds),
        "out": str(work / f"staging_{name}" / f"fold{k}"),
        "model_dir": str(model_dir),
        "settings": settings,
        "threads": threads,
    }


def _collect(job: dict[str, Any]) -> None:
    """Move a finished fold from its staging folder into the model folder; list the folds."""
    import shutil

    from locflow.models.checkpoint import write_ensemble

    k = job["settings"]["fold"]
    model_dir = Path(job["model_dir"])
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / f"fold{k}"
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(Path(job["out"]) / f"fold{k}"), str(target))
    write_ensemble(model_dir)


def train_all(jobs: list[dict[str, Any]], parallel: int, work: Path) -> None:
    """Run training jobs, `parallel` at a time in spawned worker processes (1: in-process),
    recording each fold's timing in `work` as soon as it is done, so that a run stopped later
    keeps the records of the folds it finished."""
    parallel = min(parallel, len(jobs))
    for job in jobs:  # recorded: trainings sharing the machine run slower each
        job["parallel"] = max(parallel, 1)
    if parallel <= 1:
        for job in jobs:
            _finish(job, _train_job(job), work)
        return
    with ProcessPoolExecutor(max_workers=parallel, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_train_job, job) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            _finish(job, future.result(), work)


def _finish(job: dict[str, Any], result: dict[str, Any], work: Path) -> None:
    """Move a trained fold into its model folder and record its timing."""
    _collect(job)
    record_timing(work, result)
    log(f"trained {_done(result)}")


def _done(r: dict[str, Any]) -> str:
    stop = ", time budget" if r["stopped_by_time_budget"] else ""
    return (
        f"{r['backbone']} fold {r['fold']}: {r['epochs_run']} epochs (best {r['best_epoch']}"
        f"{stop}) in {r['seconds']} s"
    )


def timings_path(work: Path, backbone: str) -> Path:
    """Where the training summaries of one backbone's folds are kept, by fold (shared with
    compare_backbones, so that `make_model --work` reuses folds a comparison trained)."""
    return work / f"timings_{backbone}.json"


def read_timings(work: Path, backbone: str) -> dict[str, dict[str, Any]]:
    """The training summaries recorded so far for `backbone` under `work`, by fold."""
    from locflow.data.files import read_json

    path = timings_path(work, backbone)
    return read_json(path) if path.exists() else {}


def record_timing(work: Path, result: dict[str, Any]) -> None:
    """Add one trained fold's summary to its backbone's timings file (atomic rewrite)."""
    from locflow.data.files import write_json

    timings = read_timings(work, result["backbone"])
    timings[str(result["fold"])] = result
    write_json(timings_path(work, result["backbone"]), timings)


def finished(model_dir: Path, fold: int) -> bool:
    """A fold whose config and weights are written (its training ended)."""
    folder = model_dir / f"fold{fold}"
    return (folder / "config.json").is_file() and (folder / "weights.safetensors").is_file()


def machine(device: str) -> str:
    """CPU, cores and (on CUDA) the GPU, for the records."""
    import torch
    from machine import cpu_description

    text = cpu_description()
    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        text += f", {torch.cuda.get_device_name()}"
    return text


def versions() -> dict[str, str]:
    import torch

    from locflow import __version__

    return {"locflow": __version__, "torch": torch.__version__}


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder with the DeepLoc 2.0 CSVs")
    ap.add_argument("--work", type=Path, default=ROOT / "model_build", help="working folder")
    ap.add_argument("--proteins", type=Path, help="a proteins table imported earlier from --data")
    ap.add_argument("--folds-table", type=Path, help="a locflow folds table made earlier")
    ap.add_argument("--backbone", default="cnn", help="cnn, proteinbert or birnn")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a backbone option, e.g. channels=128 (repeatable)")  # fmt: skip
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--seed", type=int, default=0, help="partition seed; fold K trains with K+seed")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--jobs", type=int, default=1, help="folds trained at once (GPU: 5)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads per job")
    ap.add_argument("--mmseqs-threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tokens-per-batch", type=int, default=16384)
    ap.add_argument("--clip-half", type=int, default=None)
    ap.add_argument("--max-minutes", type=float, default=None, help="time budget per fold")
    add_loss_options(ap)
    add_peer_option(ap, default=True)
    ap.add_argument("--subset", type=int, default=None, help="train on N random proteins (smoke)")
    ap.add_argument("--dest", type=Path, default=ROOT / "src" / "locflow" / "default_model")
    ap.add_argument("--no-install", action="store_true", help="do not copy into --dest")
    ap.add_argument("--refresh-audit", type=Path, metavar="AUDIT_JSON",
                    help="only record this audit of --folds-table in the --dest model")  # fmt: skip
    args = ap.parse_args(argv)
    if args.refresh_audit:
        if not args.folds_table:
            raise SystemExit("--refresh-audit needs --folds-table: the table it audited")
        log(refresh_audit(args.dest, args.refresh_audit, args.folds_table))
        return 0
    command = "scripts/make_model.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )

    from locflow.data.files import file_sha256, write_json
    from locflow.evaluation.evaluate import headline, run_evaluate
    from locflow.models.registry import backbone_spec
    from locflow.prediction.shipped import install

    started = time.perf_counter()
    work = args.work
    spec = backbone_spec(args.backbone)
    if not spec.from_scratch:
        raise SystemExit(f"--backbone {args.backbone}: the shipped model needs no pretrained LM")
    options = spec.options(parse_options(args.set))
    data = import_data(args.data, work, args.proteins)
    proteins = Path(data["proteins_table"]["path"])
    if args.subset:
        sub = work / f"proteins_{args.subset}.parquet"
        proteins = subset(proteins, args.subset, args.seed, sub)
        data.update(subset=args.subset, seed=args.seed, proteins=args.subset)
    data["proteins_table"] = {"path": str(proteins), "sha256": file_sha256(proteins)}
    if args.folds_table:
        folds = args.folds_table
        if args.subset:
            folds = restrict_folds(folds, proteins, work / f"folds_{args.subset}.parquet")
        part = given_partition(folds, proteins, args.folds_table)
    else:
        folds, part = partition(proteins, work, args.seed, args.mmseqs_threads)
    log(f"partition: fold sizes {part['fold_sizes']}; audit: {part['audit']}")

    model_dir = work / f"model_{args.backbone}"
    jobs = []
    for k in range(len(part["fold_sizes"])):
        if finished(model_dir, k):
            log(f"fold {k}: finished earlier, skipped")
            continue
        settings = fold_settings(args, k, args.backbone, options)
        jobs.append(fold_job(proteins, folds, work, model_dir, settings, args.threads))
    train_all(jobs, args.jobs, work)

    log("cross-validating (locflow evaluate --folds)")
    eval_dir = work / f"evaluate_{args.backbone}"
    metrics = run_evaluate(
        model_dir, proteins, eval_dir, folds=folds, device=args.device,
        tokens_per_batch=args.tokens_per_batch,
    )  # fmt: skip
    log(headline(metrics))

    timings = read_timings(work, args.backbone)
    per_fold = [timings[k] for k in sorted(timings, key=int)]
    provenance = {
        "date": dt.date.today().isoformat(),
        "command": command,
        "machine": machine(args.device),
        "versions": versions(),
        "data": data,
        "partition": part,
        "training": {
            "backbone": args.backbone,
            "options": options,
            "parameters": per_fold[0]["parameters"] if per_fold else None,
            "epochs": args.epochs,
            "max_minutes_per_fold": args.max_minutes,
            "tokens_per_batch": args.tokens_per_batch,
            "loss": {"kl_weight": args.kl_weight, "dct_weight": args.dct_weight},
            # What the folds carry (folds trained elsewhere, e.g. by compare_backbones, may
            # differ from this run's --composition-peer).
            "composition_peer": bool(per_fold)
            and all(t.get("peer_weight") is not None for t in per_fold),
            "peer_weights": [t.get("peer_weight") for t in per_fold],
            "epochs_run": [t["epochs_run"] for t in per_fold],
            "seeds": [args.seed + int(t["fold"]) for t in per_fold],
            "seconds_per_fold": [t["seconds"] for t in per_fold],
            "seconds_total": round(sum(t["seconds"] for t in per_fold), 1),
            "parallel_jobs": sorted({t.get("parallel_jobs", 1) for t in per_fold}),
            "label_count": [t["label_count"] for t in per_fold],
        },
        "evaluate_command": f"locflow evaluate --model {model_dir} --data {proteins} --folds "
        f"{folds} --out {eval_dir}",
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    write_json(work / f"provenance_{args.backbone}.json", provenance)
    if not args.no_install:
        dest = install(model_dir, provenance, metrics, args.dest)
        log(f"installed into {dest} ({sum(p.stat().st_size for p in dest.rglob('*'))} bytes)")
    else:
        dest = install(model_dir, provenance, metrics, work / f"default_model_{args.backbone}")
        log(f"model folder (not installed) -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
