"""Choose the weights of DeepLoc's two attention terms on validation folds, never test folds.

DeepLoc 2.0 adds to the focal BCE a KL term pulling the attention onto annotated sorting
signals and a DCT prior for smooth attention, each weighted 0.1 (`locflow train --kl-weight
--dct-weight`). Those weights were set for a pretrained backbone; whether a backbone learned
from scratch gains or loses by them is measured here. For every `--weights KL,DCT` pair this
trains the given folds with make_model's jobs (same folds table, seeds, epochs) in
`<work>/kl<KL>_dct<DCT>/` (the layout `scripts/make_model.py --work` reuses), then reads from
each fold's config.json what its *validation* fold says: the best validation focal BCE (the
early-stopping criterion, threshold-free), the mean MCC over the ten locations and the membrane
MCC at the thresholds chosen there, and the labels per protein those thresholds call. The pair
with the highest mean validation MCC is chosen. Test folds are not read.

    .venv/bin/python benchmarks/attention_weights.py --proteins model_build/proteins.parquet \\
        --folds-table model_build/folds.parquet --work model_build/attention \\
        --folds 0 --epochs 4 --device cpu --threads 2 \\
        --weights 0.1,0.1 0.1,0 0.01,0 0,0 --trained 0.1,0.1=src/locflow/default_model

`--trained KL,DCT=DIR` takes the folds of a model already trained with that pair and the same
settings (checked: backbone and its options, seed, epochs, folds table, and the weights
where the fold records them) instead of training them again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing locflow
    sys.path.insert(0, str(ROOT / "src"))

import make_model as mm  # noqa: E402  (scripts/make_model.py: data, partition, training jobs)

from locflow.data.classes import LOCATIONS, MEMBRANE  # noqa: E402
from locflow.data.files import file_sha256, read_json, write_json  # noqa: E402


def parse_pair(text: str) -> tuple[float, float]:
    """'0.1,0' -> (0.1, 0.0)."""
    kl, dct = (float(v) for v in text.split(","))
    return kl, dct


def pair_name(kl: float, dct: float) -> str:
    """The folder of one weight pair: kl0.1_dct0."""
    return f"kl{kl:g}_dct{dct:g}"


def validation_scores(config: dict[str, Any]) -> dict[str, float]:
    """What a fold's validation fold says of it (config.json of a trained fold)."""
    training, validation = config["training"], config["validation"]
    best = next(h for h in training["history"] if h["epoch"] == training["best_epoch"])
    mcc = [validation["mcc"][c] or 0.0 for c in LOCATIONS]
    count = validation["label_count"]
    return {
        "val_focal": best["val_focal"],
        "val_mean_mcc": sum(mcc) / len(mcc),
        "val_membrane_mcc": validation["mcc"][MEMBRANE] or 0.0,
        "labels_per_protein_mcc_thresholds": count["predicted_labels_per_protein_mcc"],
        "best_epoch": training["best_epoch"],
        "epochs_run": training["epochs_run"],
    }


def check_trained(config: dict[str, Any], settings: dict[str, Any], folds_sha: str) -> None:
    """Refuse a `--trained` fold made with other settings or data than this run's."""
    training = config["training"]
    problems = [
        f"{key} {config[key]} != {settings[key]}"
        for key in ("backbone", "seed", "fold")
        if config[key] != settings[key]
    ]
    if config.get(config["backbone"]) != settings.get(settings["backbone"]):
        problems.append(f"other {settings['backbone']} options")
    if training["epochs_run"] > settings["epochs"] or (
        training["epochs_run"] < settings["epochs"] and not training["early_stopped"]
    ):
        problems.append(f"epochs_run {training['epochs_run']} for --epochs {settings['epochs']}")
    # Folds trained before the weights were settings do not record them: the caller vouches.
    recorded = (training.get("kl_weight"), training.get("dct_weight"))
    wanted = (settings["kl_weight"], settings["dct_weight"])
    if "kl_weight" in training and recorded != wanted:
        problems.append(f"trained with KL, DCT weights {recorded}, not {wanted}")
    if config["training_data"]["folds_table"]["sha256"] != folds_sha:
        problems.append("another folds table")
    if problems:
        raise SystemExit(f"--trained fold {settings['fold']}: " + "; ".join(problems))


def markdown(result: dict[str, Any]) -> str:
    """The table of one run."""
    lines = [
        "| KL weight | DCT weight | validation focal BCE | validation mean MCC (10 locations) "
        "| validation membrane MCC | labels per protein at MCC thresholds | best epoch / run |",
        "| ---: | ---: | --- | --- | --- | --- | --- |",
    ]
    for row in result["pairs"]:
        s = row["summary"]
        epochs = ", ".join(f"{f['best_epoch']}/{f['epochs_run']}" for f in row["folds"])
        chosen = " (chosen)" if row["name"] == result["chosen"] else ""
        lines.append(
            f"| {row['kl_weight']:g} | {row['dct_weight']:g}{chosen} | {s['val_focal']} "
            f"| {s['val_mean_mcc']} | {s['val_membrane_mcc']} "
            f"| {s['labels_per_protein_mcc_thresholds']} "
            f"| {epochs} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proteins", type=Path, required=True, help="proteins table")
    ap.add_argument("--folds-table", type=Path, required=True, help="folds table")
    ap.add_argument("--work", type=Path, required=True, help="working folder")
    ap.add_argument("--backbone", default="cnn")
    ap.add_argument("--weights", nargs="+", default=["0.1,0.1", "0.1,0", "0.01,0", "0,0"],
                    metavar="KL,DCT", help="weight pairs to try")  # fmt: skip
    ap.add_argument("--trained", action="append", default=[], metavar="KL,DCT=DIR",
                    help="a model folder already trained with that pair")  # fmt: skip
    ap.add_argument("--folds", type=int, nargs="+", default=[0], help="folds to train")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0, help="fold K trains with seed K + this")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--tokens-per-batch", type=int, default=16384)
    args = ap.parse_args(argv)
    command = "benchmarks/attention_weights.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    from locflow.models.registry import backbone_spec

    options = backbone_spec(args.backbone).options()
    trained = {parse_pair(k): Path(v) for k, v in (t.split("=", 1) for t in args.trained)}
    folds_sha = file_sha256(args.folds_table)
    started = time.perf_counter()
    pairs = []
    for text in args.weights:
        kl, dct = parse_pair(text)
        work = args.work / pair_name(kl, dct)
        model_dir = work / f"model_{args.backbone}"
        run = argparse.Namespace(
            epochs=args.epochs, seed=args.seed, device=args.device, clip_half=None,
            tokens_per_batch=args.tokens_per_batch, max_minutes=None, kl_weight=kl, dct_weight=dct,
        )  # fmt: skip
        folds = []
        for k in args.folds:
            settings = mm.fold_settings(run, k, args.backbone, options)
            source = trained.get((kl, dct))
            if source is not None:
                config = read_json(source / f"fold{k}" / "config.json")
                check_trained(config, settings, folds_sha)
            else:
                if not mm.finished(model_dir, k):
                    mm.log(f"training {pair_name(kl, dct)} fold {k}")
                    job = mm.fold_job(
                        args.proteins, args.folds_table, work, model_dir, settings, args.threads
                    )
                    mm.train_all([job], 1, work)
                config = read_json(model_dir / f"fold{k}" / "config.json")
            folds.append({"fold": k, **validation_scores(config)})
        keys = [key for key in folds[0] if key not in ("fold", "best_epoch", "epochs_run")]
        summary = {key: round(statistics.fmean(f[key] for f in folds), 4) for key in keys}
        pairs.append(
            {"name": pair_name(kl, dct), "kl_weight": kl, "dct_weight": dct,
             "source": str(trained.get((kl, dct)) or model_dir), "folds": folds,
             "summary": summary}
        )  # fmt: skip
        mm.log(f"{pair_name(kl, dct)}: {summary}")
    chosen = max(pairs, key=lambda p: p["summary"]["val_mean_mcc"])["name"]
    result = {
        "date": dt.date.today().isoformat(),
        "command": command,
        "machine": mm.machine(args.device),
        "seconds": round(time.perf_counter() - started, 1),
        "folds_table_sha256": folds_sha,
        "chosen": chosen,
        "pairs": pairs,
    }
    write_json(args.work / "attention_weights.json", result)
    (args.work / "attention_weights.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    mm.log(f"chosen on validation folds: {chosen}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
