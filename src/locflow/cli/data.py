"""The commands of the data stage: fetch-uniprot, fetch-hpa, curate-swissprot, curate-hpa,
import-deeploc, and make-demo-data (the demo's data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from locflow.cli.app import app, done


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
    from locflow.data.deeploc import run_import_deeploc

    if keep_partition and folds_out is None:
        folds_out = out.with_name("folds.parquet")
    data = run_import_deeploc(
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
        funnel_path=funnel,
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
    from locflow.data.fetch import run_fetch_uniprot
    from locflow.data.http import RetryPolicy
    from locflow.runtime import reporting

    policy = RetryPolicy(attempts=attempts, backoff=backoff, timeout=timeout)
    with reporting("fetch-uniprot"):
        record = run_fetch_uniprot(
            out,
            query=query,
            release=release,
            base_url=base_url,
            fmt=fmt,
            page_size=page_size,
            stream=stream,
            policy=policy,
            force=force,
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
    from locflow.data.fetch import run_fetch_hpa
    from locflow.data.http import RetryPolicy
    from locflow.runtime import reporting

    policy = RetryPolicy(attempts=attempts, timeout=timeout)
    with reporting("fetch-hpa"):
        record = run_fetch_hpa(out, version=version, base_url=base_url, policy=policy, force=force)
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
