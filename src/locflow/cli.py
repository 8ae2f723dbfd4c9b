"""The `locflow` command line: one thin sub-command per pipeline step.

Each command parses options, calls one library function and reports where its output went.
Heavy imports (torch, transformers) happen inside the commands so that `--help` stays fast.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from locflow import __version__
from locflow.demo.run import DEMO_TRAIN_EPOCHS
from locflow.errors import InputError, ParameterError
from locflow.runtime import configure_logging

app = typer.Typer(
    name="locflow",
    help=(
        "Protein subcellular-localization prediction in the manner of DeepLoc 2.0: curate "
        "UniProt and HPA data, partition by homology, embed, train, evaluate and predict."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def _flags_as_flags() -> None:
    """Show on/off options in --help as bare flags (`--plots`), not `--plots <bool>`.

    typer's rich help prints a type for every option, flags included; the plain (click)
    help never did. Patched once here; a typer without the hook keeps its own help.
    """
    from typer.core import TyperOption

    display = getattr(TyperOption, "display_type_rich", None)
    if display is None or getattr(display, "_locflow", False):
        return

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag or self.count else display(self, ctx)

    display_type_rich._locflow = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_as_flags()


def _version(value: bool) -> None:
    if value:
        print(f"locflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    configure_logging(verbose)


def done(message: str) -> None:
    """Tell the user, on stderr, what a command wrote."""
    console.print(message, highlight=False)


# --- commands -------------------------------------------------------------------------------
# Keep each command short: parse options, call the library, print one line of what it wrote.


@app.command("curate-swissprot", rich_help_panel="Data")
def curate_swissprot_cmd(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="UniProt flat text (.dat/.txt, gzipped or not) or REST JSON files."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Proteins table to write (Parquet).")],
    funnel: Annotated[
        Path | None,
        typer.Option(
            help="Funnel JSON: removed per filter and why, unknown terms, signals "
            "(default: <out>.funnel.json)."
        ),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(
            help="UniProt release to record (default: from fetch.json or reldate.txt "
            "beside each input)."
        ),
    ] = None,
) -> None:
    """Curate SwissProt entries the DeepLoc 2.0 way: experimental locations mapped to classes."""
    from locflow.data.curate import run_curate_swissprot

    counts = run_curate_swissprot(inputs, out, funnel_path=funnel, release=release)
    done(f"kept {counts['kept']} of {counts['input_records']} UniProt entries -> {out}")


@app.command("import-deeploc", rich_help_panel="Data")
def import_deeploc_cmd(
    csv: Annotated[Path, typer.Argument(help="DeepLoc 2.0-style wide CSV (plain or .gz).")],
    out: Annotated[Path, typer.Option("--out", help="Proteins table to write (Parquet).")],
    signals: Annotated[
        Path | None,
        typer.Option(help="DeepLoc sorting_signals.csv(.gz): adds signal spans, matched by ACC."),
    ] = None,
    keep_partition: Annotated[
        bool, typer.Option("--keep-partition", help="Also write the CSV's Partition as folds.")
    ] = False,
    folds_out: Annotated[
        Path | None,
        typer.Option(
            help="Folds table path (implies --keep-partition; default folds.parquet beside --out)."
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write counts (labels, kingdoms, signals) as JSON.")
    ] = None,
    release: Annotated[str, typer.Option(help="Release name stored in the table.")] = "DeepLoc-2.0",
) -> None:
    """Import a DeepLoc 2.0 CSV (and its sorting signals) as a proteins table."""
    from locflow.data.deeploc import import_deeploc

    if keep_partition and folds_out is None:
        folds_out = out.with_name("folds.parquet")
    data = import_deeploc(
        csv, out, signals=signals, folds_out=folds_out, report_out=report, release=release
    )
    extra = f", folds -> {folds_out}" if folds_out else ""
    done(f"imported {data.proteins.num_rows} proteins -> {out}{extra}")


@app.command("curate-hpa", rich_help_panel="Data")
def curate_hpa_cmd(
    locations: Annotated[Path, typer.Option(help="HPA subcellular_location.tsv (plain or .gz).")],
    uniprot: Annotated[
        list[Path],
        typer.Option(help="UniProt flat text or REST JSON with the human entries; repeatable."),
    ],
    out: Annotated[Path, typer.Option(help="Proteins table to write (Parquet).")],
    funnel: Annotated[
        Path | None, typer.Option(help="Write the counts of each filter as JSON.")
    ] = None,
    release: Annotated[
        str | None, typer.Option(help="HPA version to record (default: from the file name).")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="Own HPA location -> class TSV instead of the shipped table."),
    ] = None,
    per_location: Annotated[
        bool,
        typer.Option(help="Keep only locations HPA itself rates Enhanced or Supported."),
    ] = False,
    ambiguous: Annotated[
        str, typer.Option(help="Gene with several UniProt entries: 'drop' it or keep 'all'.")
    ] = "drop",
) -> None:
    """Curate the HPA test set: reliable HPA locations mapped to classes, joined to UniProt."""
    from locflow.data.hpa import run_curate_hpa

    counts = run_curate_hpa(
        locations,
        uniprot,
        out,
        funnel,
        release=release,
        mapping=mapping,
        per_location=per_location,
        ambiguous=ambiguous,
    )
    done(f"kept {counts['kept']} of {counts['genes_read']} HPA genes -> {out}")


_ATTEMPTS_HELP = "Attempts per request (429, 5xx, timeouts and cut bodies are retried)."


@app.command("fetch-uniprot", rich_help_panel="Data")
def fetch_uniprot_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for uniprot.dat.gz and fetch.json.")],
    release: Annotated[
        str | None,
        typer.Option(help="Pinned release (e.g. 2021_03): its whole Swiss-Prot flat file."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            help="UniProtKB REST query (default: reviewed eukaryotic entries with an "
            "experimental subcellular location)."
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Replace the UniProt host (a mirror, or a test server).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="txt (flat file) or json.")] = "txt",
    page_size: Annotated[int, typer.Option(help="Entries per search page.")] = 500,
    stream: Annotated[
        bool, typer.Option("--stream", help="One /stream request instead of resumable pages.")
    ] = False,
    attempts: Annotated[int, typer.Option(help=_ATTEMPTS_HELP)] = 8,
    backoff: Annotated[float, typer.Option(help="First retry wait in seconds (doubles).")] = 2.0,
    timeout: Annotated[float, typer.Option(help="Network timeout per read, seconds.")] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if complete.")] = False,
) -> None:
    """Download UniProtKB entries (resumable REST search, or a pinned release's flat file)."""
    from locflow.data.fetch import fetch_uniprot
    from locflow.data.http import RetryPolicy

    policy = RetryPolicy(attempts=attempts, backoff=backoff, timeout=timeout)
    record = fetch_uniprot(
        out,
        query=query,
        release=release,
        base_url=base_url,
        fmt=fmt,
        page_size=page_size,
        stream=stream,
        policy=policy,
        force=force,
        progress=True,
    )
    release_name = record["release"]
    done(f"fetched {record['entries']} entries (UniProt {release_name}) -> {out / record['file']}")


@app.command("fetch-hpa", rich_help_panel="Data")
def fetch_hpa_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for subcellular_location.tsv.")],
    version: Annotated[
        str, typer.Option(help="HPA version: v23, 23, 21.1, or latest (not reproducible).")
    ] = "23",
    base_url: Annotated[
        str | None, typer.Option(help="Replace the HPA host (a mirror, or a test server).")
    ] = None,
    attempts: Annotated[int, typer.Option(help=_ATTEMPTS_HELP)] = 8,
    timeout: Annotated[float, typer.Option(help="Network timeout per read, seconds.")] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if complete.")] = False,
) -> None:
    """Download the Human Protein Atlas subcellular_location.tsv of a named version."""
    from locflow.data.fetch import fetch_hpa
    from locflow.data.http import RetryPolicy

    policy = RetryPolicy(attempts=attempts, timeout=timeout)
    record = fetch_hpa(
        out, version=version, base_url=base_url, policy=policy, force=force, progress=True
    )
    done(f"fetched HPA {record['version']} ({record['rows']} genes) -> {out / record['file']}")


@app.command("make-demo-data", rich_help_panel="Data")
def make_demo_data_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo files into.")],
    seed: Annotated[int, typer.Option(help="Random seed; same seed, byte-identical files.")] = 0,
    proteins: Annotated[
        int,
        typer.Option(min=20, help="Labelled proteins that pass curation (decoys come on top)."),
    ] = 600,
    proteome: Annotated[
        int, typer.Option(min=1, help="Unlabelled sequences in proteome.fasta.")
    ] = 200,
) -> None:
    """Write a small synthetic UniProt/HPA/FASTA world whose locations follow planted signals."""
    from locflow.demo.data.make import run_make_demo_data

    manifest = run_make_demo_data(out, seed=seed, proteins=proteins, proteome=proteome)
    uniprot = manifest["uniprot"]
    done(
        f"wrote {uniprot['entries']} UniProt entries ({uniprot['kept']} curatable), "
        f"{manifest['hpa']['rows']} HPA genes, {manifest['proteome']['records']} FASTA records "
        f"-> {out}"
    )


@app.command("train", rich_help_panel="Model")
def train_cmd(
    proteins: Annotated[Path, typer.Argument(help="Proteins table (Parquet).")],
    folds: Annotated[Path, typer.Argument(help="Folds table (Parquet).")],
    fold: Annotated[int, typer.Option("--fold", help="Test fold K (never read in training).")],
    backbone: Annotated[
        str,
        typer.Option(
            "--backbone",
            help="Trained from scratch (no pretrained weights): cnn, proteinbert or birnn; "
            "pretrained language models: esm2, esm1b or prott5.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Model folder; writes <out>/fold<K>/.")],
    embeddings: Annotated[
        Path | None,
        typer.Option(help="Embeddings HDF5 from `locflow embed`, for frozen backbones."),
    ] = None,
    checkpoint: Annotated[
        str | None, typer.Option(help="Local folder (or hub id) of the pretrained backbone.")
    ] = None,
    lora: Annotated[
        bool, typer.Option("--lora", help="Fine-tune the backbone with LoRA adapters (rank 4).")
    ] = False,
    pooling: Annotated[
        str, typer.Option(help="attention (DeepLoc 2.0) or mean (baseline).")
    ] = "attention",
    validation_fold: Annotated[
        int | None, typer.Option(help="Validation fold; default (K + 1) mod k.")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs (early stopping).")] = 14,
    tokens_per_batch: Annotated[
        int, typer.Option(min=1, help="Padded residues per batch (length-sorted batches).")
    ] = 16384,
    seed: Annotated[int, typer.Option(help="Random seed (initialisation, order, dropout).")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Train one cross-validation fold; rerun to resume after a kill or to add epochs."""
    from locflow.runtime import reporting
    from locflow.training.fold import run_train
    from locflow.training.settings import TrainSettings

    settings = TrainSettings(
        fold=fold,
        backbone=backbone,
        validation_fold=validation_fold,
        embeddings=str(embeddings) if embeddings else None,
        checkpoint=checkpoint,
        lora=lora,
        pooling=pooling,
        epochs=epochs,
        tokens_per_batch=tokens_per_batch,
        seed=seed,
        device=device,
    )
    with reporting("train"):
        config = run_train(proteins, folds, out, settings=settings)
    mcc = [m for m in config["validation"]["mcc"].values() if m is not None]
    done(
        f"fold {fold}: {config['training']['epochs_run']} epochs, validation fold "
        f"{config['validation_fold']} mean MCC {sum(mcc) / max(len(mcc), 1):.3f} "
        f"-> {out / f'fold{fold}'}"
    )


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


_THREADS_HELP = "CPU threads for MMseqs2."
_TMP_HELP = "Folder for MMseqs2 temporary files (removed afterwards; default: system temp)."
_MEMORY_HELP = "MMseqs2 prefilter memory per split, e.g. 8G (default: what the machine has)."
_THRESHOLD_HELP = "Homolog if identical aligned residues / shorter length is above this."


def _mmseqs_options(threads: int, tmp_dir: Path | None, memory: str | None):  # noqa: ANN202
    from locflow.homology.mmseqs import RunOptions

    return RunOptions(threads=threads, tmp_dir=tmp_dir, memory=memory)


@app.command("partition", rich_help_panel="Homology")
def partition_cmd(
    proteins: Annotated[Path, typer.Argument(help="Proteins table (Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Folds table to write (Parquet).")],
    folds: Annotated[int, typer.Option("--folds", min=2, help="Number of folds k.")] = 5,
    threshold: Annotated[float, typer.Option(help=_THRESHOLD_HELP)] = 0.3,
    report: Annotated[
        Path | None, typer.Option(help="JSON report (default: <out> with .json suffix).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for tie-breaking; same seed, same folds.")] = 0,
    threads: Annotated[int, typer.Option(min=1, help=_THREADS_HELP)] = 1,
    tmp_dir: Annotated[Path | None, typer.Option(help=_TMP_HELP)] = None,
    memory: Annotated[str | None, typer.Option(help=_MEMORY_HELP)] = None,
    search: Annotated[
        str,
        typer.Option(
            help="'exhaustive' aligns every pair; 'deep' prefilters at -s 7.5 (1,000 "
            "candidates, a list stopped after 300 rejected in a row); 'thorough' is deep plus "
            "every pair with a member of at most 100 residues aligned; 'fast' a lighter tiered "
            "one (about 2x faster, a few borderline pairs may cross folds); 'auto' is "
            "exhaustive up to ~5e10 alignment cells (about 550 proteins of 400 residues), "
            "thorough above."
        ),
    ] = "auto",
    pairs: Annotated[
        list[Path] | None,
        typer.Option(
            "--pairs",
            help="Pairs tables of `locflow homology-search` (every chunk, same --threshold and "
            "--search), read instead of searching; repeat the option per chunk.",
        ),
    ] = None,
) -> None:
    """Split proteins into k folds so that no homolog pair crosses folds (MMseqs2)."""
    from locflow.homology.partition import run_partition
    from locflow.runtime import reporting

    with reporting("partition"):
        result = run_partition(
            proteins, out, report, folds, threshold, seed,
            _mmseqs_options(threads, tmp_dir, memory), search, pairs or None,
        )  # fmt: skip
    done(
        f"{result['kept']} of {result['proteins']} proteins in {folds} folds "
        f"{result['fold_sizes']}, {result['removed']['count']} removed -> {out}"
    )


@app.command("homology-search", rich_help_panel="Homology")
def homology_search_cmd(
    proteins: Annotated[Path, typer.Argument(help="Proteins table (Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Pairs table to write (Parquet).")],
    chunk: Annotated[
        str,
        typer.Option(
            help="K/N: search the K-th of N query chunks against all proteins (one task "
            "each on a cluster); `partition --pairs` merges all N."
        ),
    ] = "1/1",
    threshold: Annotated[float, typer.Option(help=_THRESHOLD_HELP)] = 0.3,
    search: Annotated[
        str, typer.Option(help="As for `partition --search`; every chunk must use the same.")
    ] = "auto",
    threads: Annotated[int, typer.Option(min=1, help=_THREADS_HELP)] = 1,
    tmp_dir: Annotated[Path | None, typer.Option(help=_TMP_HELP)] = None,
    memory: Annotated[str | None, typer.Option(help=_MEMORY_HELP)] = None,
) -> None:
    """Search one chunk of the partitioner's all-vs-all homology search; write its pairs."""
    from locflow.homology.search import run_homology_search
    from locflow.runtime import reporting

    with reporting("homology-search"):
        result = run_homology_search(
            proteins, out, chunk=chunk, threshold=threshold, search=search,
            options=_mmseqs_options(threads, tmp_dir, memory),
        )  # fmt: skip
    done(f"chunk {result['chunk']}: {result['queries']} queries, {result['pairs']} pairs -> {out}")


@app.command("filter-homologs", rich_help_panel="Homology")
def filter_homologs_cmd(
    query: Annotated[Path, typer.Argument(help="Proteins table to filter, e.g. the HPA test set.")],
    against: Annotated[Path, typer.Option("--against", help="Training proteins table.")],
    out: Annotated[Path, typer.Option("--out", help="Kept query proteins (Parquet).")],
    threshold: Annotated[float, typer.Option(help=_THRESHOLD_HELP)] = 0.3,
    report: Annotated[
        Path | None, typer.Option(help="JSON report (default: <out> with .json suffix).")
    ] = None,
    search: Annotated[
        str,
        typer.Option(
            help="'exhaustive' aligns every query against every training protein; 'deep' "
            "prefilters at -s 7.5 (5,000 candidates, all aligned) and aligns every pair with a "
            "member of at most 150 residues; 'auto' is exhaustive up to ~5e10 alignment cells "
            "(query residues x training residues), deep above. Both directions either way."
        ),
    ] = "auto",
    threads: Annotated[int, typer.Option(min=1, help=_THREADS_HELP)] = 1,
    tmp_dir: Annotated[Path | None, typer.Option(help=_TMP_HELP)] = None,
    memory: Annotated[str | None, typer.Option(help=_MEMORY_HELP)] = None,
) -> None:
    """Drop query proteins that have any homolog in the training set."""
    from locflow.homology.filter import run_filter_homologs
    from locflow.runtime import reporting

    with reporting("filter-homologs"):
        result = run_filter_homologs(
            query, against, out, report, threshold, search,
            _mmseqs_options(threads, tmp_dir, memory),
        )  # fmt: skip
    done(f"kept {result['kept']} of {result['query']} query proteins -> {out}")


@app.command("audit", rich_help_panel="Homology")
def audit_cmd(
    proteins: Annotated[Path, typer.Argument(help="Proteins table (Parquet).")],
    folds: Annotated[
        list[Path], typer.Argument(help="One or more folds tables; one search checks them all.")
    ],
    threshold: Annotated[float, typer.Option(help=_THRESHOLD_HELP)] = 0.3,
    exhaustive: Annotated[
        bool,
        typer.Option("--exhaustive", help="Align every pair (no prefilter); small sets only."),
    ] = False,
    sensitivity: Annotated[
        float | None,
        typer.Option(help="MMseqs2 -s of the all-vs-all tier (default 7.5, the deepest)."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write crossing pairs and the search used as JSON.")
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="Write every homolog pair found (a, b, identity; down to half the threshold) "
            "as Parquet."
        ),
    ] = None,
    threads: Annotated[int, typer.Option(min=1, help=_THREADS_HELP)] = 1,
    tmp_dir: Annotated[Path | None, typer.Option(help=_TMP_HELP)] = None,
    memory: Annotated[str | None, typer.Option(help=_MEMORY_HELP)] = None,
) -> None:
    """Re-check folds with an independent MMseqs2 search; exit 1 if a homolog pair crosses."""
    from locflow.homology.audit import run_audit
    from locflow.runtime import reporting

    options = _mmseqs_options(threads, tmp_dir, memory)
    with reporting("audit"):
        results = run_audit(
            proteins, folds, threshold, exhaustive, options, report, sensitivity, pairs
        )
    for r in results:
        print(
            f"{r.name}\tkept {r.kept}\tcrossing pairs {r.crossing_pairs}\t"
            f"max cross-fold identity {r.max_cross_identity:.3f}"
        )
    leaking = sum(r.crossing_pairs > 0 for r in results)
    done(f"{leaking} of {len(results)} folds tables have homolog pairs across folds")
    if leaking:
        raise typer.Exit(1)


@app.command("embed", rich_help_panel="Model")
def embed_cmd(
    input: Annotated[
        Path, typer.Argument(help="Proteins table (Parquet) or FASTA (plain or gzipped).")
    ],
    backbone: Annotated[str, typer.Option(help="Language model: esm2, esm1b or prott5.")],
    out: Annotated[
        Path, typer.Option("--out", help="Embeddings HDF5 to create or extend (resumable).")
    ],
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="Model folder (config.json, weights, tokenizer files), or a hub id "
            "such as facebook/esm2_t33_650M_UR50D to download explicitly."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")] = "auto",
    tokens_per_batch: Annotated[
        int | None,
        typer.Option(min=1, help="Padded tokens per batch (default 1024 on CPU, 16384 on GPU)."),
    ] = None,
    layer: Annotated[
        int, typer.Option(help="Hidden layer to store (-1 last, 0 the embedding layer).")
    ] = -1,
    dtype: Annotated[
        str,
        typer.Option(
            help="Compute precision: auto (bf16 where native, else fp16 on GPU, fp32 "
            "on CPU), fp32, bf16 or fp16. Stored embeddings are float16."
        ),
    ] = "auto",
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Log and skip invalid sequences, not fail.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Per-residue embeddings (float16 HDF5 keyed by sequence hash); reruns skip stored ones."""
    from locflow.models.embed import embed_file

    s = embed_file(
        input, out, backbone, checkpoint, device=device, dtype=dtype, layer=layer,
        tokens_per_batch=tokens_per_batch, progress=progress, skip_invalid=skip_invalid,
    )  # fmt: skip
    skipped = f", {s.skipped_invalid} invalid skipped" if s.skipped_invalid else ""
    done(
        f"embedded {s.embedded} sequences ({s.residues} residues, {s.seconds:.1f} s), "
        f"{s.stored_before} already stored{skipped} -> {out}"
    )


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


def error(message: str, code: int = 2) -> NoReturn:
    """Print `message` as one `error:` line on stderr (never wrapped, markup-free) and exit."""
    from rich.markup import escape

    text = " ".join(str(message).split())
    # soft_wrap: the message stays one line whatever the terminal width.
    console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
    sys.exit(code)


# The library's parameters whose option has another name; every other parameter `x_y` is `--x-y`.
_OPTION_NAMES = {"k": "--folds", "fmt": "--format"}


def option_name(parameter: str) -> str:
    """The command-line option of a library function's parameter (`tokens_per_batch` ->
    `--tokens-per-batch`): the library's errors name parameters, the commands name options."""
    return _OPTION_NAMES.get(parameter, "--" + parameter.replace("_", "-"))


def _path_error(exc: OSError) -> str:
    """'<file>: <reason>' for an OSError about a path."""
    where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"{where}: {exc.strerror or type(exc).__name__}"


def main() -> None:
    """Console-script entry point, and locflow's one error path.

    Expected failures (bad input, a bad model, a bad path, a bad option) print one unwrapped
    `error:` line naming the file or option (a library parameter shown as its option) and exit
    with status 2; an unexpected exception
    (a bug) keeps its traceback and exits with status 1.
    """
    try:  # typer >= 0.20 carries its own copy of click
        from typer._click import exceptions as click
    except ImportError:  # pragma: no cover - older typer on the real click
        from click import exceptions as click  # type: ignore[no-redef]

    try:
        code = app(standalone_mode=False)
    except ParameterError as exc:
        error(exc.named(option_name))
    except InputError as exc:
        error(str(exc))
    except click.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help())
        sys.exit(2)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "locflow"
        error(f"{where}: {exc.format_message()} (see '{where} --help')", exc.exit_code)
    except click.ClickException as exc:
        error(exc.format_message(), exc.exit_code)
    except typer.Abort:
        error("aborted", 1)
    except (
        FileNotFoundError,
        FileExistsError,
        PermissionError,
        IsADirectoryError,
        NotADirectoryError,
    ) as exc:
        if exc.filename is None:
            raise
        error(_path_error(exc))
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) and exc.filename is not None:
            error(_path_error(exc))
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

__all__ = ["app", "main", "Path"]
