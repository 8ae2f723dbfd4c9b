"""SwissProt curation: filters, location-term mapping, membrane flag, sorting signals, funnel.

The filters follow DeepLoc 2.0 (reviewed, eukaryotic, not a fragment, nucleus-encoded, longer
than 40 residues, an experimental location in one of the 10 classes: docs/architecture.md,
"Data rules") and run in the order of `FILTERS`; each removed entry is counted under the first
filter it fails. Only location terms with experimental evidence (ECO:0000269) are used, and
only those that apply to the displayed sequence: general SUBCELLULAR LOCATION comments, plus
the comment of the isoform that UniProt displays as the canonical sequence. The term -> class
table is `data/uniprot_locations.tsv` (rationale in docs/location_mapping.md). The membrane
rule and the signal rules are documented on `is_membrane_term` and `extract_signals`.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from locflow.data.classes import LOCATIONS, SIGNALS
from locflow.data.files import write_json
from locflow.data.sequences import normalize_sequence
from locflow.data.tables import protein_record, proteins_table, write_table
from locflow.data.uniprot import Feature, LocationTerm, UniProtEntry, read_entries
from locflow.errors import InputError

NO_CLASS = "-"
MIN_LENGTH = 41  # DeepLoc 2.0 keeps proteins longer than 40 residues

# (key, reason) in the order the filters are applied.
FILTERS: tuple[tuple[str, str], ...] = (
    ("malformed", "record could not be parsed or has no sequence"),
    ("duplicate", "accession already seen in an earlier record or input"),
    ("not_reviewed", "not reviewed (UniProtKB/TrEMBL)"),
    ("not_eukaryote", "lineage is not Eukaryota"),
    ("fragment", "sequence is a fragment"),
    ("organelle_encoded", "gene is encoded in an organelle or plasmid, not the nucleus"),
    ("too_short", f"sequence has {MIN_LENGTH - 1} residues or fewer"),
    ("no_location_comment", "no SUBCELLULAR LOCATION comment"),
    ("no_experimental_location", "no location term with experimental evidence (ECO:0000269)"),
    ("no_mapped_location", "no experimental location term maps to one of the 10 classes"),
)

KINGDOM_TAXA = (("Metazoa", "Animalia"), ("Fungi", "Fungi"), ("Viridiplantae", "Viridiplantae"))

TRANSIT_SIGNALS = (("mitochondri", "MT"), ("chloroplast", "CH"), ("thylakoid", "TH"))
MOTIF_SIGNALS = (
    ("nuclear localization signal", "NLS"),
    ("nuclear export signal", "NES"),
    ("microbody targeting signal", "PTS"),
    ("peroxisom", "PTS"),
)


# --- the mapping table ---------------------------------------------------------------------


def mapping_path() -> Path:
    """Path of the shipped UniProt location -> class table."""
    return Path(str(resources.files("locflow.data") / "uniprot_locations.tsv"))


def load_location_mapping(path: str | Path | None = None) -> dict[str, str]:
    """Read a term -> class table (TSV: term, class, ...); keys are lower-case terms."""
    path = Path(path) if path else mapping_path()
    mapping: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        rows = csv.reader((line for line in fh if not line.startswith("#")), delimiter="\t")
        header = next(rows, None)
        if not header or header[:2] != ["term", "class"]:
            raise InputError(f"{path}: location table must start with columns 'term', 'class'")
        for number, row in enumerate(rows, 2):
            if not row or not row[0].strip():
                continue
            term, cls = row[0].strip(), row[1].strip() if len(row) > 1 else ""
            if cls != NO_CLASS and cls not in LOCATIONS:
                raise InputError(f"{path}: row {number} ({term!r}): unknown class {cls!r}")
            if term.lower() in mapping and mapping[term.lower()] != cls:
                raise InputError(f"{path}: term {term!r} is listed twice with different classes")
            mapping[term.lower()] = cls
    return mapping


# --- per-entry rules -----------------------------------------------------------------------


def kingdom_of(lineage: Iterable[str]) -> str:
    """Animalia, Fungi, Viridiplantae or Other, from a UniProt taxonomic lineage."""
    taxa = set(lineage)
    return next((kingdom for taxon, kingdom in KINGDOM_TAXA if taxon in taxa), "Other")


def applicable_terms(entry: UniProtEntry) -> list[LocationTerm]:
    """Terms that describe the displayed sequence: general ones and the canonical isoform's."""
    canonical = (entry.canonical_isoform or "").lower()
    return [t for t in entry.locations if t.isoform is None or t.isoform.lower() == canonical]


def is_membrane_term(term: LocationTerm) -> bool:
    """Membrane-bound per DeepLoc 2.0: a membrane topology, or a membrane named as location.

    A topology ('Single-pass ...', 'Multi-pass ...', 'Peripheral membrane protein',
    'Lipid-anchor', 'GPI-anchor') always counts; otherwise the innermost location part must
    name a lipid membrane ('Mitochondrion inner membrane', 'Cell membrane', 'Membrane'),
    which excludes the extracellular 'basement membrane'.
    """
    if term.topology:
        topology = term.topology.lower()
        if "membrane" in topology or "anchor" in topology:
            return True
    innermost = term.location.split(",")[-1].strip().lower()
    return "membrane" in innermost and "basement membrane" not in innermost


def _first_transmembrane(features: list[Feature]) -> Feature | None:
    segments = [f for f in features if f.type == "TRANSMEM"]
    known = [f for f in segments if not f.uncertain]
    if len(known) < len(segments):
        return None  # the first segment is not known exactly when any position is fuzzy
    return min(known, key=lambda f: f.start or 0) if known else None


def _signal_type(feature: Feature) -> str | None:
    note = feature.note.lower()
    if feature.type == "SIGNAL":
        return "SP"
    if feature.type == "TRANSIT":
        return next((sig for word, sig in TRANSIT_SIGNALS if word in note), None)
    if feature.type == "MOTIF":
        # Real notes vary ("Bipartite nuclear localization signal", "PTS1-type peroxisomal
        # targeting signal"), so the words may appear anywhere in the note.
        return next((sig for words, sig in MOTIF_SIGNALS if words in note), None)
    return None


def extract_signals(entry: UniProtEntry) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Sorting signals with ECO:0000269 evidence as 0-based half-open spans, and skip counts.

    SIGNAL -> SP; the first TRANSMEM segment -> TM; TRANSIT to mitochondrion/chloroplast/
    thylakoid -> MT/CH/TH; MOTIF 'Nuclear localization signal'/'Nuclear export signal' ->
    NLS/NES; MOTIF 'Microbody targeting signal' or a peroxisomal motif -> PTS; a PROPEP that
    directly follows a 'GPI-anchor' LIPID site (any evidence) -> GPI. Features
    with '?', '<' or '>' positions, or spans outside the sequence, are skipped and counted.
    """
    signals: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    length = len(entry.sequence)

    def add(kind: str, feature: Feature) -> None:
        if feature.uncertain:
            skipped[f"{kind}: uncertain position"] += 1
        elif not 0 <= feature.start < feature.end <= length:  # type: ignore[operator]
            skipped[f"{kind}: outside the sequence"] += 1
        else:
            signals.append({"type": kind, "start": feature.start, "end": feature.end})

    for feature in entry.features:
        kind = _signal_type(feature)
        if kind and feature.experimental:
            add(kind, feature)
        elif feature.type == "TRANSIT" and feature.experimental:
            skipped[f"transit peptide to {feature.note or 'unnamed target'}"] += 1
    first_tm = _first_transmembrane(entry.features)
    if first_tm is None and any(f.type == "TRANSMEM" and f.experimental for f in entry.features):
        skipped["TM: uncertain position"] += 1
    elif first_tm is not None and first_tm.experimental:
        add("TM", first_tm)
    gpi_sites = {
        f.end
        for f in entry.features
        if f.type == "LIPID" and f.note.lower().startswith("gpi-anchor") and not f.uncertain
    }
    for feature in entry.features:
        if feature.type != "PROPEP" or not feature.experimental:
            continue
        if feature.uncertain:
            skipped["GPI: uncertain position"] += 1
        elif feature.start in gpi_sites:
            add("GPI", feature)
    return signals, skipped


@dataclass
class Curated:
    """The outcome for one entry: a proteins-table row, or the filter that removed it."""

    accession: str
    row: dict[str, Any] | None = None
    removed_by: str | None = None
    unknown_terms: list[str] = field(default_factory=list)
    unmapped_terms: list[str] = field(default_factory=list)
    skipped_signals: Counter[str] = field(default_factory=Counter)


def curate_entry(entry: UniProtEntry, mapping: dict[str, str], *, release: str = "") -> Curated:
    """Apply the filters to one entry and build its proteins-table row if it passes."""
    result = Curated(entry.accession)
    if not entry.problem:
        try:
            entry.sequence = normalize_sequence(entry.sequence, entry.accession)
        except InputError as exc:
            entry.problem = str(exc)
    checks = (
        ("malformed", bool(entry.problem)),
        ("not_reviewed", not entry.reviewed),
        ("not_eukaryote", "Eukaryota" not in entry.lineage),
        ("fragment", entry.fragment),
        ("organelle_encoded", bool(entry.organelle)),
        ("too_short", len(entry.sequence) < MIN_LENGTH),
        ("no_location_comment", entry.location_comments == 0),
    )
    for key, failed in checks:
        if failed:
            result.removed_by = key
            return result
    experimental = [t for t in applicable_terms(entry) if t.experimental]
    if not experimental:
        result.removed_by = "no_experimental_location"
        return result
    classes = set()
    for term in experimental:
        cls = mapping.get(term.location.lower())
        if cls is None:
            result.unknown_terms.append(term.location)
        elif cls == NO_CLASS:
            result.unmapped_terms.append(term.location)
        else:
            classes.add(cls)
    if not classes:
        result.removed_by = "no_mapped_location"
        return result
    signals, result.skipped_signals = extract_signals(entry)
    result.row = protein_record(
        entry.accession,
        entry.sequence,
        classes,
        kingdom=kingdom_of(entry.lineage),
        taxon_id=entry.taxon_id,
        organism=entry.organism,
        membrane=any(is_membrane_term(t) for t in experimental),
        signals=signals,
        source="swissprot",
        release=release,
    )
    return result


# --- whole inputs --------------------------------------------------------------------------


def input_release(path: str | Path) -> str:
    """The UniProt release recorded beside an input: fetch.json's 'release' or reldate.txt."""
    folder = Path(path).parent
    fetch = folder / "fetch.json"
    if fetch.is_file():
        try:
            release = json.loads(fetch.read_text(encoding="utf-8")).get("release")
        except (json.JSONDecodeError, AttributeError) as exc:
            raise InputError(f"{fetch}: not a JSON object ({exc})") from exc
        if release:
            return str(release)
    reldate = folder / "reldate.txt"
    if reldate.is_file():
        words = reldate.read_text(encoding="utf-8", errors="replace").split()
        if "Release" in words and words.index("Release") + 1 < len(words):
            return words[words.index("Release") + 1]
    return ""


def curate_swissprot(
    inputs: Iterable[str | Path],
    *,
    release: str | None = None,
    mapping: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Curate UniProt inputs into proteins-table rows and a funnel report."""
    mapping = load_location_mapping() if mapping is None else mapping
    rows: list[dict[str, Any]] = []
    removed: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    malformed_records: list[str] = []
    seen: set[str] = set()
    releases: list[str] = []
    total = 0
    for path in inputs:
        file_release = release if release is not None else input_release(path)
        releases.append(file_release)
        for entry in read_entries(path, keep_malformed=True):
            total += 1
            if not entry.problem and entry.accession in seen:
                removed["duplicate"] += 1
                continue
            result = curate_entry(entry, mapping, release=file_release)
            unknown.update(result.unknown_terms)
            unmapped.update(result.unmapped_terms)
            if result.removed_by:
                removed[result.removed_by] += 1
                if result.removed_by == "malformed":
                    malformed_records.append(
                        f"{Path(path).name}: {entry.accession}: {entry.problem}"
                    )
                else:
                    seen.add(entry.accession)
                continue
            seen.add(entry.accession)
            skipped.update(result.skipped_signals)
            rows.append(result.row)  # type: ignore[arg-type]
    funnel = _funnel(total, removed, rows, unknown, unmapped, skipped, malformed_records)
    funnel["release"] = sorted(set(releases)) if len(set(releases)) > 1 else (releases or [""])[0]
    return rows, funnel


def _funnel(
    total: int,
    removed: Counter[str],
    rows: list[dict[str, Any]],
    unknown: Counter[str],
    unmapped: Counter[str],
    skipped: Counter[str],
    malformed_records: list[str],
) -> dict[str, Any]:
    steps, remaining = [], total
    for key, reason in FILTERS:
        remaining -= removed[key]
        steps.append({"filter": key, "reason": reason, "removed": removed[key], "left": remaining})
    signals = Counter(s["type"] for row in rows for s in row["signals"])
    return {
        "input_records": total,
        "filters": steps,
        "removed": sum(removed.values()),
        "kept": len(rows),
        "malformed_records": malformed_records[:100],
        "unknown_location_terms": dict(unknown.most_common()),
        "unmapped_location_terms": dict(unmapped.most_common()),
        "classes": {c: sum(c in row["locations"] for row in rows) for c in LOCATIONS},
        "membrane": sum(row["membrane"] for row in rows),
        "kingdoms": dict(Counter(row["kingdom"] for row in rows).most_common()),
        "signals": {s: signals[s] for s in SIGNALS},
        "signals_skipped": dict(skipped.most_common()),
    }


def run_curate_swissprot(
    inputs: list[Path], out: Path, *, funnel_path: Path | None = None, release: str | None = None
) -> dict[str, Any]:
    """Curate inputs; write the proteins table (Parquet) and funnel (JSON); return the funnel."""
    rows, funnel = curate_swissprot(inputs, release=release)
    table = proteins_table(rows)
    release_meta = funnel["release"]
    if isinstance(release_meta, list):
        release_meta = ",".join(release_meta)
    write_table(table, out, metadata={"source": "swissprot", "release": release_meta})
    write_json(funnel_path or out.with_name(out.stem + ".funnel.json"), funnel)
    return funnel
