"""The `locflow` command line: one thin sub-command per pipeline step (DESIGN.md section 3).

Each command parses options, calls one library function and reports where its output went.
Heavy imports (torch, transformers) happen inside the commands so that `--help` stays fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from locflow import __version__
from locflow.files import InputError

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
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def done(message: str) -> None:
    """Tell the user, on stderr, what a command wrote."""
    console.print(message, highlight=False)


# --- commands -------------------------------------------------------------------------------
# Keep each command short: parse options, call the library, print one line of what it wrote.


@app.command("curate-swissprot")
def curate_swissprot_cmd(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="UniProt flat text (.dat/.txt, gzipped or not) or REST JSON files."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Proteins table to write (Parquet).")],
    funnel: Annotated[
        Path | None,
        typer.Option(help="Funnel JSON: removed per filter and why, unknown terms, signals "
                     "(default: <out>.funnel.json)."),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(help="UniProt release to record (default: from fetch.json or reldate.txt "
                     "beside each input)."),
    ] = None,
) -> None:
    """Curate SwissProt entries the DeepLoc 2.0 way: experimental locations mapped to classes."""
    from locflow.curate import run_curate_swissprot

    counts = run_curate_swissprot(inputs, out, funnel_path=funnel, release=release)
    done(f"kept {counts['kept']} of {counts['input_records']} UniProt entries -> {out}")


@app.command("import-deeploc")
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
    from locflow.deeploc import import_deeploc

    if keep_partition and folds_out is None:
        folds_out = out.with_name("folds.parquet")
    data = import_deeploc(
        csv, out, signals=signals, folds_out=folds_out, report_out=report, release=release
    )
    extra = f", folds -> {folds_out}" if folds_out else ""
    done(f"imported {data.proteins.num_rows} proteins -> {out}{extra}")


@app.command("curate-hpa")
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
    from locflow.files import write_json
    from locflow.hpa import curate_hpa
    from locflow.tables import write_table

    table, counts = curate_hpa(
        locations,
        uniprot,
        release=release,
        mapping=mapping,
        per_location=per_location,
        ambiguous=ambiguous,
    )
    write_table(table, out, {"source": "hpa", "release": counts["release"]})
    if funnel is not None:
        write_json(funnel, counts)
    done(f"kept {counts['kept']} of {counts['genes_read']} HPA genes -> {out}")


_ATTEMPTS_HELP = "Attempts per request (429, 5xx, timeouts and cut bodies are retried)."


@app.command("fetch-uniprot")
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
    from locflow.fetch import fetch_uniprot
    from locflow.http import RetryPolicy

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


@app.command("fetch-hpa")
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
    from locflow.fetch import fetch_hpa
    from locflow.http import RetryPolicy

    policy = RetryPolicy(attempts=attempts, timeout=timeout)
    record = fetch_hpa(
        out, version=version, base_url=base_url, policy=policy, force=force, progress=True
    )
    done(f"fetched HPA {record['version']} ({record['rows']} genes) -> {out / record['file']}")


@app.command("make-demo-data")
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
    from locflow.demo_data import make_demo_data

    manifest = make_demo_data(out, seed=seed, proteins=proteins, proteome=proteome)
    uniprot = manifest["uniprot"]
    done(
        f"wrote {uniprot['entries']} UniProt entries ({uniprot['kept']} curatable), "
        f"{manifest['hpa']['rows']} HPA genes, {manifest['proteome']['records']} FASTA records "
        f"-> {out}"
    )


@app.command("train")
def train_cmd(
    proteins: Annotated[Path, typer.Argument(help="Proteins table (Parquet).")],
    folds: Annotated[Path, typer.Argument(help="Folds table (Parquet).")],
    fold: Annotated[int, typer.Option("--fold", help="Test fold K (never read in training).")],
    backbone: Annotated[
        str, typer.Option("--backbone", help="cnn (no pretrained weights), esm2, esm1b or prott5.")
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
    from locflow.train import TrainSettings, train_fold

    if pooling not in ("attention", "mean"):
        raise InputError(f"--pooling must be attention or mean, not {pooling!r}")
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
    config = train_fold(proteins, folds, out, settings, show_progress=True)
    mcc = [m for m in config["validation"]["mcc"].values() if m is not None]
    done(
        f"fold {fold}: {config['training']['epochs_run']} epochs, validation fold "
        f"{config['validation_fold']} mean MCC {sum(mcc) / max(len(mcc), 1):.3f} "
        f"-> {out / f'fold{fold}'}"
    )


def main() -> None:
    """Console-script entry point: bad input becomes a one-line error and exit status 2."""
    try:
        app()
    except InputError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()

__all__ = ["app", "main", "Path"]
