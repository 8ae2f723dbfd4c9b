"""The Human Protein Atlas independent test set: HPA locations -> classes, genes -> UniProt.

Construction (after DeepLoc 2.0's HPA test set; see docs/hpa_mapping.md):

1. read HPA's ``subcellular_location.tsv``; keep genes whose ``Reliability`` is Enhanced or
   Supported (optionally only the locations HPA itself rates Enhanced/Supported);
2. map each ``Main location`` and ``Additional location`` value to a class through the shipped
   table ``data/hpa_locations.tsv``; values mapped to no class are dropped; a gene left with no
   class is dropped. ``Extracellular location`` is a sequence-based prediction, not an
   observation, and is ignored;
3. join each gene (ENSG id) to reviewed, human, non-fragment UniProt entries that cross-reference
   it (``DR Ensembl``); the canonical sequence is used. A gene that reaches several entries, or
   an entry reached by several genes, is dropped: which protein the antibody saw is unknown.

Every step is counted in a funnel. HPA has no membrane-bound annotation, so ``membrane`` is
False for every row and must not be scored on this set.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from locflow.data.classes import LOCATIONS
from locflow.data.files import open_text, write_json
from locflow.data.sequences import normalize_sequence
from locflow.data.tables import PROTEINS_SCHEMA, protein_record, proteins_table, write_table
from locflow.errors import InputError, ParameterError

SOURCE = "hpa"
HUMAN_TAXON = 9606
KEEP_RELIABILITY = ("Enhanced", "Supported")
REQUIRED_COLUMNS = ("Gene", "Gene name", "Reliability", "Main location", "Additional location")
AMBIGUOUS_POLICIES = ("drop", "all")


@dataclass(frozen=True)
class HpaGene:
    """One HPA gene after the reliability filter and the location mapping."""

    gene: str
    name: str
    reliability: str
    classes: tuple[str, ...]


def load_mapping(path: str | Path | None = None) -> dict[str, str | None]:
    """HPA location (lower-case) -> class, or None for a location mapped to no class."""
    if path is None:
        text = resources.files("locflow.data").joinpath("hpa_locations.tsv").read_text("utf-8")
        where = "hpa_locations.tsv (shipped)"
    else:
        with open_text(path) as fh:
            text = fh.read()
        where = str(path)
    rows = list(csv.DictReader(text.splitlines(), delimiter="\t"))
    if not rows or not {"hpa_location", "class"} <= set(rows[0]):
        raise InputError(f"{where}: mapping needs columns 'hpa_location' and 'class'")
    mapping: dict[str, str | None] = {}
    for row in rows:
        cls = (row["class"] or "").strip() or None
        if cls is not None and cls not in LOCATIONS:
            raise InputError(f"{where}: {row['hpa_location']!r} maps to unknown class {cls!r}")
        mapping[row["hpa_location"].strip().lower()] = cls
    return mapping


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def infer_release(path: str | Path) -> str:
    """The HPA version named in a file name such as 'subcellular_location_v20.tsv.gz', or ''."""
    m = re.search(r"v(\d+(?:\.\d+)?)", Path(path).name)
    return f"HPA v{m.group(1)}" if m else ""


def read_hpa(
    path: str | Path,
    *,
    mapping: dict[str, str | None] | None = None,
    reliability: Iterable[str] = KEEP_RELIABILITY,
    per_location: bool = False,
    funnel: dict[str, Any] | None = None,
) -> list[HpaGene]:
    """Read HPA subcellular_location.tsv; keep reliable genes with at least one mapped class."""
    mapping = load_mapping() if mapping is None else mapping
    keep = {r.lower() for r in reliability}
    funnel = {} if funnel is None else funnel
    dropped_reliability: Counter[str] = Counter()
    ignored: Counter[str] = Counter()
    unmapped_genes = 0
    genes: list[HpaGene] = []
    seen: set[str] = set()
    with open_text(path) as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: not an HPA subcellular_location.tsv: missing {missing}")
        if per_location and not {"Enhanced", "Supported"} <= set(reader.fieldnames or []):
            raise InputError(
                f"{path}: per-location reliability needs the 'Enhanced' and 'Supported' columns"
            )
        for n, row in enumerate(reader, start=2):
            gene = (row["Gene"] or "").strip()
            if not gene:
                raise InputError(f"{path}: line {n} has no Gene id")
            if gene in seen:
                raise InputError(f"{path}: gene {gene} appears twice (line {n})")
            seen.add(gene)
            level = (row["Reliability"] or "").strip()
            if level.lower() not in keep:
                dropped_reliability[level or "(none)"] += 1
                continue
            values = _split(row["Main location"]) + _split(row["Additional location"])
            if per_location:
                rated = {v.lower() for c in ("Enhanced", "Supported") for v in _split(row[c])}
                values = [v for v in values if v.lower() in rated]
            classes = set()
            for value in values:
                if value.lower() not in mapping:
                    raise ParameterError(
                        f"{path}: gene {gene}: HPA location {value!r} is not in the mapping "
                        "table; add it to a copy of hpa_locations.tsv and pass it as `mapping`"
                    )
                cls = mapping[value.lower()]
                if cls is None:
                    ignored[value] += 1
                else:
                    classes.add(cls)
            if not classes:
                unmapped_genes += 1
                continue
            ordered = tuple(c for c in LOCATIONS if c in classes)
            genes.append(HpaGene(gene, (row["Gene name"] or "").strip(), level, ordered))
    funnel.update(
        genes_read=len(seen),
        dropped_reliability=dict(sorted(dropped_reliability.items())),
        dropped_unmapped_locations=unmapped_genes,
        ignored_location_values=dict(sorted(ignored.items())),
        genes_with_classes=len(genes),
    )
    return genes


def human_entries_by_gene(
    paths: Iterable[str | Path], funnel: dict[str, Any] | None = None
) -> dict[str, list[Any]]:
    """ENSG id -> reviewed, human, non-fragment UniProt entries cross-referencing it."""
    from locflow.data.uniprot import read_entries

    funnel = {} if funnel is None else funnel
    counts: Counter[str] = Counter()
    by_gene: dict[str, list[Any]] = defaultdict(list)
    seen: set[str] = set()
    for path in paths:
        for entry in read_entries(path):
            counts["entries_read"] += 1
            if not entry.reviewed or entry.taxon_id != HUMAN_TAXON:
                continue
            if entry.accession in seen:  # the same entry in two inputs is one entry
                counts["duplicate_entries"] += 1
                continue
            seen.add(entry.accession)
            if entry.fragment:
                counts["human_reviewed_fragments"] += 1
                continue
            counts["human_reviewed"] += 1
            for gene in dict.fromkeys(entry.ensembl_genes):
                by_gene[gene].append(entry)
    funnel.update(counts)
    funnel["ensembl_genes_indexed"] = len(by_gene)
    return dict(by_gene)


def join_uniprot(
    genes: list[HpaGene],
    by_gene: dict[str, list[Any]],
    *,
    release: str,
    ambiguous: str = "drop",
    funnel: dict[str, Any] | None = None,
) -> pa.Table:
    """Proteins table of HPA genes joined to UniProt entries (with hpa_gene columns added)."""
    if ambiguous not in AMBIGUOUS_POLICIES:
        raise InputError(f"ambiguous-gene policy must be one of {AMBIGUOUS_POLICIES}")
    funnel = {} if funnel is None else funnel
    pairs: list[tuple[HpaGene, Any]] = []
    no_entry = several = 0
    for g in genes:
        entries = by_gene.get(g.gene, [])
        if not entries:
            no_entry += 1
        elif len(entries) > 1 and ambiguous == "drop":
            several += 1
        else:
            pairs.extend((g, e) for e in entries)
    # An entry reached from several genes (duplicated genes, readthrough loci) is ambiguous too.
    genes_per_entry = Counter(e.accession for _, e in pairs)
    shared = {acc for acc, k in genes_per_entry.items() if k > 1}
    rows, extra = [], defaultdict(list)
    for g, e in pairs:
        if e.accession in shared:
            continue
        seq = normalize_sequence(e.sequence, e.accession)
        rows.append(
            protein_record(
                e.accession,
                seq,
                g.classes,
                kingdom="Animalia",
                taxon_id=HUMAN_TAXON,
                organism=e.organism or "Homo sapiens",
                source=SOURCE,
                release=release,
            )
        )
        extra["hpa_gene"].append(g.gene)
        extra["hpa_gene_name"].append(g.name)
        extra["hpa_reliability"].append(g.reliability)
    funnel.update(
        dropped_no_uniprot_entry=no_entry,
        dropped_ambiguous_gene=several,
        ambiguous_policy=ambiguous,
        dropped_entry_shared_by_genes=sum(genes_per_entry[a] for a in shared),
        kept=len(rows),
    )
    table = proteins_table(rows) if rows else PROTEINS_SCHEMA.empty_table()
    for name in ("hpa_gene", "hpa_gene_name", "hpa_reliability"):
        table = table.append_column(name, pa.array(extra[name], pa.string()))
    funnel["classes"] = {c: sum(c in r["locations"] for r in rows) for c in LOCATIONS}
    return table


def curate_hpa(
    locations: str | Path,
    uniprot: Iterable[str | Path],
    *,
    release: str | None = None,
    mapping: str | Path | None = None,
    reliability: Iterable[str] = KEEP_RELIABILITY,
    per_location: bool = False,
    ambiguous: str = "drop",
) -> tuple[pa.Table, dict[str, Any]]:
    """Build the HPA proteins table and its funnel from HPA and UniProt files."""
    release = release or infer_release(locations) or "HPA (version not given)"
    funnel: dict[str, Any] = {"hpa_file": str(locations), "release": release}
    hpa_funnel: dict[str, Any] = {}
    genes = read_hpa(
        locations,
        mapping=load_mapping(mapping),
        reliability=reliability,
        per_location=per_location,
        funnel=hpa_funnel,
    )
    uniprot_funnel: dict[str, Any] = {}
    by_gene = human_entries_by_gene(uniprot, uniprot_funnel)
    join_funnel: dict[str, Any] = {}
    table = join_uniprot(genes, by_gene, release=release, ambiguous=ambiguous, funnel=join_funnel)
    funnel.update(hpa_funnel)
    funnel.update(join_funnel)
    funnel["uniprot"] = uniprot_funnel
    return table, funnel


def run_curate_hpa(
    locations: str | Path,
    uniprot: Iterable[str | Path],
    out: str | Path,
    *,
    funnel_path: str | Path | None = None,
    release: str | None = None,
    mapping: str | Path | None = None,
    reliability: Iterable[str] = KEEP_RELIABILITY,
    per_location: bool = False,
    ambiguous: str = "drop",
) -> dict[str, Any]:
    """Curate HPA (see `curate_hpa`); write the proteins table and the funnel; return the funnel."""
    table, funnel = curate_hpa(
        locations,
        uniprot,
        release=release,
        mapping=mapping,
        reliability=reliability,
        per_location=per_location,
        ambiguous=ambiguous,
    )
    write_table(table, out, {"source": "hpa", "release": funnel["release"]})
    if funnel_path is not None:
        write_json(funnel_path, funnel)
    return funnel
