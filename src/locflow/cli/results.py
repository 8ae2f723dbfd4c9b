"""The commands that use models and their results: predict, evaluate, score, report, and the
demo that runs the whole chain, and versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from locflow.cli.app import app, console, done, error
from locflow.demo.run import DEMO_TRAIN_EPOCHS

_DEVICE_HELP = "auto (CUDA when available), cpu or cuda."
_MODEL_HELP = (
    "Model folder from train: every fold<k>/ in it (config.json + weights.safetensors) is used; "
    "an ensemble.json there, if any, names folds that must be present."
)
_TOKENS_HELP = "Padded residues per batch (proteins are sorted by length first)."


_PREDICT_HELP = (
    "Predict locations, membrane and signals of every FASTA record (a status for each). "
    "Without --model the model shipped with locflow is used, and a line says so.\n\n"
    "Writes predictions.parquet, results.csv, attention.h5 and summary.json into --out (with "
    "--plots also plots/<id>.csv and plots/<id>.png).\n\n"
    "Sequences are normalised: whitespace removed, ASCII letters upper-cased, one trailing * "
    "dropped; the alphabet is A-Z (20 amino acids, U, O, B, Z, J, X). A record whose sequence "
    "is empty, holds any other character, looks like DNA (10+ residues, 90% ACGTUN), repeats "
    "an id or is not UTF-8 gets that as its status instead of a prediction."
)


@app.command("predict", rich_help_panel="Evaluate and predict", help=_PREDICT_HELP)
def predict_cmd(
    fasta: Annotated[Path, typer.Argument(help="Protein FASTA (plain or .gz), any size.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for predictions.parquet, results.csv (DeepLoc 2.0 columns), "
            "attention.h5 and summary.json.",
        ),
    ],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help=_MODEL_HELP + " Default: the model shipped with locflow (see its MODEL_CARD.md).",
        ),
    ] = None,
    plots: Annotated[
        bool, typer.Option("--plots", help="Also write plots/<id>.csv and .png per protein.")
    ] = False,
    device: Annotated[str, typer.Option(help=_DEVICE_HELP)] = "auto",
    tokens_per_batch: Annotated[int, typer.Option(min=1, help=_TOKENS_HELP)] = 16384,
    embeddings: Annotated[
        Path | None,
        typer.Option(help="Embeddings HDF5 for frozen-backbone models (else run the backbone)."),
    ] = None,
) -> None:
    from locflow.prediction.predict import run_predict
    from locflow.runtime import reporting

    if model is None:
        from rich.markup import escape

        from locflow.prediction.shipped import default_model, describe

        model = default_model()
        line = f"no --model given: using the default model shipped with locflow ({describe(model)})"
        console.print(escape(line), highlight=False, soft_wrap=True)  # one line, never wrapped
    with reporting("predict"):
        summary = run_predict(
            fasta,
            model,
            out,
            device=device,
            tokens_per_batch=tokens_per_batch,
            plots=plots,
            embeddings=embeddings,
        )
    bad = summary["records"] - summary["predicted"]
    done(
        f"predicted {summary['predicted']} of {summary['records']} records "
        f"({bad} with a problem status) -> {out}"
    )


@app.command("evaluate", rich_help_panel="Evaluate and predict")
def evaluate_cmd(
    model: Annotated[Path, typer.Option("--model", help=_MODEL_HELP)],
    data: Annotated[Path, typer.Option("--data", help="Proteins table with true labels.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for metrics.json/.tsv, predictions, attention.")
    ],
    folds: Annotated[
        Path | None,
        typer.Option(
            help="Folds table: cross-validation (each fold model on its own test fold). "
            "Without it: independent test with the averaged fold models."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help=_DEVICE_HELP)] = "auto",
    tokens_per_batch: Annotated[int, typer.Option(min=1, help=_TOKENS_HELP)] = 16384,
    embeddings: Annotated[
        Path | None, typer.Option(help="Embeddings HDF5 for frozen-backbone models.")
    ] = None,
) -> None:
    """Evaluate a model folder: cross-validation (with --folds) or an independent test."""
    from locflow.evaluation.evaluate import headline, run_evaluate
    from locflow.runtime import reporting

    with reporting("evaluate"):
        metrics = run_evaluate(
            model,
            data,
            out,
            folds=folds,
            device=device,
            tokens_per_batch=tokens_per_batch,
            embeddings=embeddings,
        )
    done(f"{headline(metrics)} -> {out / 'metrics.json'}")


@app.command("score", rich_help_panel="Evaluate and predict")
def score_cmd(
    predictions: Annotated[
        Path, typer.Option("--predictions", help="predictions.parquet from predict/evaluate.")
    ],
    truth: Annotated[Path, typer.Option("--truth", help="Proteins table with true labels.")],
    out: Annotated[Path, typer.Option("--out", help="Metrics JSON (a .tsv is written beside).")],
    attention: Annotated[
        Path | None,
        typer.Option(help="attention.h5 for the attention KL (default: beside the predictions)."),
    ] = None,
) -> None:
    """Score predictions against true labels (scikit-learn metrics, classes in the truth)."""
    from locflow.evaluation.metrics import run_score

    metrics = run_score(predictions, truth, out, attention=attention)
    loc = metrics["locations"]
    done(
        f"{metrics['counts']['scored']} proteins: accuracy {loc.get('accuracy')}, Jaccard "
        f"{loc.get('jaccard')}, micro F1 {loc.get('micro_f1')}, macro F1 {loc.get('macro_f1')} "
        f"-> {out}"
    )


@app.command("report", rich_help_panel="Evaluate and predict")
def report_cmd(
    folders: Annotated[list[Path], typer.Argument(help="Output folders of locflow evaluate.")],
    out: Annotated[
        Path, typer.Option("--out", help="Self-contained HTML report (Markdown tables beside).")
    ],
) -> None:
    """Write one HTML report with DeepLoc 2.0's tables, published numbers and figures."""
    from locflow.evaluation.report import run_report

    result = run_report(folders, out)
    done(f"report of {len(result['runs'])} evaluation(s), {result['figures']} figures -> {out}")


@app.command("demo", rich_help_panel="Evaluate and predict")
def demo_cmd(
    out: Annotated[Path, typer.Option(help="Folder for every output of the demo.")] = Path(
        "demo_out"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs per fold.")] = DEMO_TRAIN_EPOCHS,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "cpu",
) -> None:
    """Run the whole chain on generated demo data, in-process, and print where the report is."""
    from locflow.demo.run import LeakingPartition, run_demo

    try:
        summary = run_demo(out, epochs=epochs, device=device, log=done)
    except LeakingPartition as exc:
        error(str(exc), 1)
    done(summary["cross_validation"])
    done(summary["hpa_test"])
    done(f"demo finished in {summary['total_s']:.0f} s; report: {summary['report']}")


@app.command("versions", rich_help_panel="Evaluate and predict")
def versions_cmd(
    tools: Annotated[
        list[str] | None,
        typer.Argument(help="Tools to report (locflow, mmseqs2, torch, transformers, peft); all."),
    ] = None,
) -> None:
    """Print the version of each tool locflow runs: one `tool: version` line, or the bare version
    of a single tool (what Nextflow's versions topic collects)."""
    from locflow.versions import tool_versions

    found = tool_versions(tools or None)
    if tools and len(tools) == 1:
        print(found[tools[0]])
    else:
        for tool, version in found.items():
            print(f"{tool}: {version}")
