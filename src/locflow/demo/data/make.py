"""`run_make_demo_data` (`locflow make-demo-data`): build the world in a fixed order, write the
files, the manifest last."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from locflow import __version__
from locflow.data.classes import LOCATIONS, SIGNALS
from locflow.data.files import write_json, write_text
from locflow.demo.data.records import Protein
from locflow.demo.data.vocabulary import HPA_HEADER, HPA_RELIABILITY, REMOVALS
from locflow.demo.data.world import _hpa_only, _kept, _name, _removed, _World
from locflow.demo.data.writers import _hpa_rows, _proteome, _truth_rows, _tsv, entry_text
from locflow.errors import ParameterError


def run_make_demo_data(
    out: str | Path, *, seed: int = 0, proteins: int = 600, proteome: int = 200
) -> dict[str, Any]:
    """Write the demo world into `out`; return the manifest (also written as manifest.json)."""
    if proteins < 20:
        raise ParameterError(f"`proteins` must be at least 20, got {proteins}")
    out = Path(out)
    world = _World(seed)
    kept = _kept(world, proteins)
    removed = _removed(world, max(3, round(0.012 * proteins)))
    hpa_only = _hpa_only(world, max(5, round(0.15 * proteins)), kept)
    entries = kept + removed + hpa_only
    # Shuffle so that neither file order nor accession order gives the category away.
    world.rng.shuffle(entries)
    for p in entries:
        _name(world, p)
    text = "".join(entry_text(p, world) for p in entries)
    humans = [p for p in entries if p.organism.code == "HUMAN" and p.reviewed and p.ensembl]
    hpa_rows, hpa_stats = _hpa_rows(world, humans, max(3, round(0.1 * len(humans))))
    fasta, unlabelled, fasta_stats = _proteome(world, proteome)

    write_text(out / "uniprot_sprot.dat", text)
    write_text(out / "subcellular_location.tsv", _tsv([HPA_HEADER, *hpa_rows]))
    write_text(out / "proteome.fasta", fasta)
    write_text(out / "truth.tsv", _tsv(_truth_rows(entries + unlabelled)))
    manifest = _manifest(world, proteins, entries, hpa_rows, hpa_stats, unlabelled, fasta_stats)
    write_json(out / "manifest.json", manifest)
    return manifest


def _manifest(
    world: _World,
    requested: int,
    entries: list[Protein],
    hpa_rows: list[list[str]],
    hpa_stats: Counter,
    unlabelled: list[Protein],
    fasta_stats: Counter,
) -> dict[str, Any]:
    kept = [p for p in entries if p.outcome == "kept"]
    signals: Counter = Counter(t for p in kept for t, _, _ in p.signals())
    planted: Counter = Counter(f.signal for p in kept for f in p.features if f.signal)
    # Genes HPA rates Enhanced/Supported that reach a reviewed, human, non-fragment entry.
    joinable = {
        p.ensembl[2].split(".")[0]
        for p in entries
        if p.ensembl and p.organism.code == "HUMAN" and p.reviewed and not p.fragment
    }
    reliable = [r for r in hpa_rows if r[2] in ("Enhanced", "Supported") and r[0] in joinable]
    lengths = [len(p.sequence) for p in kept]
    return {
        "generator": f"locflow {__version__} make-demo-data",
        "seed": world.seed,
        "proteins": requested,
        "note": "Synthetic data; every removed UniProt entry fails exactly one curation filter.",
        "files": {
            "uniprot": "uniprot_sprot.dat",
            "hpa": "subcellular_location.tsv",
            "proteome": "proteome.fasta",
            "truth": "truth.tsv",
        },
        "uniprot": {
            "entries": len(entries),
            "kept": len(kept),
            "removed": {k: sum(p.outcome == k for p in entries) for k in REMOVALS},
            "unmapped_terms": dict(
                sorted(
                    Counter(
                        loc.term
                        for p in entries
                        if p.outcome == "unmapped_term"
                        for loc in p.locations
                    ).items()
                )
            ),
            "categories": dict(sorted(Counter(p.category for p in kept).items())),
            "classes": {c: sum(c in p.classes() for p in kept) for c in LOCATIONS},
            "membrane": sum(p.membrane() for p in kept),
            "multi_location": sum(len(p.classes()) > 1 for p in kept),
            "signals": {s: signals[s] for s in SIGNALS if planted[s]},
            "signals_non_experimental": {s: planted[s] - signals[s] for s in SIGNALS if planted[s]},
            "kingdoms": dict(sorted(Counter(p.organism.kingdom for p in kept).items())),
            "noise": dict(sorted(Counter(p.noise for p in kept if p.noise).items())),
            "families": world.family_count,
            "length": {"min": min(lengths), "max": max(lengths)},
            "human_with_ensembl": sum(
                1 for p in entries if p.organism.code == "HUMAN" and p.ensembl
            ),
        },
        "hpa": {
            "rows": len(hpa_rows),
            "reliability": {r: hpa_stats[f"reliability_{r}"] for r in HPA_RELIABILITY},
            "genes_with_uniprot": hpa_stats["genes_with_uniprot"],
            "genes_without_uniprot": hpa_stats["genes_without_uniprot"],
            "reliable_with_entry": len(reliable),
            # HPA shows secreted proteins as "Vesicles" staining, which maps to no class.
            "reliable_with_entry_vesicles_only": sum(
                {*r[3].split(";"), *r[4].split(";")} - {""} == {"Vesicles"} for r in reliable
            ),
            "human_entries_without_hpa": hpa_stats["human_entries_without_hpa"],
            "hpa_only_entries": sum(p.hpa for p in entries),
        },
        "proteome": {
            "records": len(unlabelled) + fasta_stats["not_protein"],
            "proteins": len(unlabelled),
            "categories": dict(sorted(Counter(p.category for p in unlabelled).items())),
            "quirks": dict(sorted(fasta_stats.items())),
        },
    }
