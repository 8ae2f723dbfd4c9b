"""The commands of the homology stage: partition, homology-search, filter-homologs, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from locflow.cli.app import app, done

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
            "exhaustive up to ~5e10 alignment cells (about 550 proteins of 400 residues), deep "
            "above."
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
            proteins,
            out,
            report_path=report,
            k=folds,
            threshold=threshold,
            seed=seed,
            options=_mmseqs_options(threads, tmp_dir, memory),
            search=search,
            pairs=pairs or None,
        )
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
            query,
            against,
            out,
            report_path=report,
            threshold=threshold,
            search=search,
            options=_mmseqs_options(threads, tmp_dir, memory),
        )
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
            proteins,
            folds,
            threshold=threshold,
            exhaustive=exhaustive,
            options=options,
            out=report,
            sensitivity=sensitivity,
            pairs_out=pairs,
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
