"""UniProtKB entries from flat text (.dat/.txt, gzipped or not) or REST JSON, as plain dataclasses.

Flat text is parsed record by record with Biopython's `Bio.SwissProt`; REST JSON (one entry, a
list of entries, or a search page `{"results": [...]}`) with the json module. Both give the same
`UniProtEntry`, so curation code never looks at the source format.

Subcellular-location comments are parsed into terms following the CC line conventions of the
UniProtKB user manual: a comment is `[Isoform X]: ` (optional), then location items separated
by '.', each `Location, sub-location {evidence}; Topology {evidence}; Orientation {evidence}`,
then an optional `Note=...` whose evidence belongs to the note, never to the terms. An evidence
group that stands alone as an item (`Cytoplasm. Nucleus. {ECO:...}.`) is comment-level evidence:
it applies to every term of that comment that carries no evidence of its own.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from Bio import SwissProt
from Bio.SeqFeature import ExactPosition

from locflow.data.files import open_text
from locflow.errors import InputError

EXPERIMENTAL = "ECO:0000269"

# UniProt REST JSON feature types -> flat-file feature keys, so both formats look alike.
JSON_FEATURE_KEYS = {
    "Active site": "ACT_SITE",
    "Alternative sequence": "VAR_SEQ",
    "Beta strand": "STRAND",
    "Binding site": "BINDING",
    "Calcium binding": "CA_BIND",
    "Chain": "CHAIN",
    "Coiled coil": "COILED",
    "Compositional bias": "COMPBIAS",
    "Cross-link": "CROSSLNK",
    "Disulfide bond": "DISULFID",
    "DNA binding": "DNA_BIND",
    "Domain": "DOMAIN",
    "Glycosylation": "CARBOHYD",
    "Helix": "HELIX",
    "Initiator methionine": "INIT_MET",
    "Intramembrane": "INTRAMEM",
    "Lipidation": "LIPID",
    "Metal binding": "METAL",
    "Modified residue": "MOD_RES",
    "Motif": "MOTIF",
    "Mutagenesis": "MUTAGEN",
    "Natural variant": "VARIANT",
    "Non-adjacent residues": "NON_CONS",
    "Non-standard residue": "NON_STD",
    "Non-terminal residue": "NON_TER",
    "Nucleotide binding": "NP_BIND",
    "Peptide": "PEPTIDE",
    "Propeptide": "PROPEP",
    "Region": "REGION",
    "Repeat": "REPEAT",
    "Sequence conflict": "CONFLICT",
    "Signal": "SIGNAL",
    "Site": "SITE",
    "Topological domain": "TOPO_DOM",
    "Transit peptide": "TRANSIT",
    "Transmembrane": "TRANSMEM",
    "Turn": "TURN",
    "Zinc finger": "ZN_FING",
}


@dataclass(frozen=True)
class LocationTerm:
    """One location of a SUBCELLULAR LOCATION comment, e.g. 'Mitochondrion inner membrane'."""

    location: str
    evidence: tuple[str, ...] = ()  # ECO codes, e.g. ("ECO:0000269",)
    topology: str | None = None  # e.g. "Multi-pass membrane protein", "Lipid-anchor, GPI-anchor"
    orientation: str | None = None  # e.g. "Cytoplasmic side"
    isoform: str | None = None  # e.g. "Isoform 2" for isoform-specific comments

    @property
    def experimental(self) -> bool:
        """True if the location itself carries ECO:0000269 (experimental) evidence."""
        return EXPERIMENTAL in self.evidence


@dataclass(frozen=True)
class Feature:
    """One sequence feature; `start`/`end` are 0-based half-open, None when not exactly known."""

    type: str  # flat-file key: SIGNAL, TRANSMEM, TRANSIT, MOTIF, PROPEP, LIPID, ...
    start: int | None
    end: int | None
    note: str = ""
    evidence: tuple[str, ...] = ()

    @property
    def uncertain(self) -> bool:
        """True when either end is unknown or fuzzy ('?', '<', '>')."""
        return self.start is None or self.end is None

    @property
    def experimental(self) -> bool:
        """True if the feature carries ECO:0000269 evidence."""
        return EXPERIMENTAL in self.evidence


@dataclass
class UniProtEntry:
    """The parts of a UniProtKB entry that curation needs."""

    accession: str
    entry_name: str = ""
    reviewed: bool = False
    sequence: str = ""
    organism: str = ""
    taxon_id: int | None = None
    lineage: list[str] = field(default_factory=list)
    fragment: bool = False
    organelle: str | None = None  # OG line / geneLocations: the gene is not nuclear when set
    locations: list[LocationTerm] = field(default_factory=list)
    location_comments: int = 0  # number of SUBCELLULAR LOCATION comments (with or without terms)
    features: list[Feature] = field(default_factory=list)
    ensembl_genes: list[str] = field(default_factory=list)
    gene_names: list[str] = field(default_factory=list)
    canonical_isoform: str | None = None  # the displayed isoform, e.g. "Isoform 1", if named
    entry_version: int | None = None
    problem: str | None = None  # set (and the rest possibly empty) for a malformed record


# --- subcellular-location comment text --------------------------------------------------------

_EVIDENCE = re.compile(r"\{([^{}]*)\}")
_ISOFORM = re.compile(r"^\s*\[([^\]]+)\]:\s*")
# Biopython joins wrapped lines with a space; a line that ended with '-' was one word
# ("Single-\npass" -> "Single- pass"), so the space after such a hyphen is dropped again.
_WRAPPED_HYPHEN = re.compile(r"(?<=[A-Za-z0-9])- (?=[A-Za-z0-9])")


def _eco_codes(text: str) -> tuple[str, ...]:
    """ECO codes from an evidence group body such as 'ECO:0000269|PubMed:1, ECO:0000250'."""
    codes = (part.strip().split("|", 1)[0] for part in text.split(","))
    return tuple(dict.fromkeys(c for c in codes if c.startswith("ECO:")))


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside {...} evidence groups."""
    parts, depth, cur = [], 0, []
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _text_and_evidence(part: str) -> tuple[str, tuple[str, ...]]:
    codes: tuple[str, ...] = ()
    for body in _EVIDENCE.findall(part):
        codes += _eco_codes(body)
    text = " ".join(_EVIDENCE.sub(" ", part).split())
    return text, tuple(dict.fromkeys(codes))


def parse_location_comment(text: str) -> list[LocationTerm]:
    """Parse the text of one SUBCELLULAR LOCATION comment (with or without its prefix)."""
    text = re.sub(r"^\s*SUBCELLULAR LOCATION:\s*", "", text)
    isoform = None
    m = _ISOFORM.match(text)
    if m:
        isoform, text = m.group(1).strip(), text[m.end() :]
    # Everything from 'Note=' on is free text with its own evidence; it names no terms.
    note_at = re.search(r"(?:^|(?<=[.}]))\s*Note=", text)
    if note_at:
        text = text[: note_at.start()]
    text = _WRAPPED_HYPHEN.sub("-", text)
    terms: list[LocationTerm] = []
    shared: tuple[str, ...] = ()
    for item in _split_top(text, "."):
        parts = [p.strip() for p in _split_top(item, ";")]
        if not parts[0]:
            continue
        location, evidence = _text_and_evidence(parts[0])
        if not location:
            shared += evidence  # a stand-alone evidence group: comment-level evidence
            continue
        topology = orientation = None
        for part in parts[1:]:
            value, _ = _text_and_evidence(part)
            if value.endswith(" side"):
                orientation = value
            elif value and topology is None:
                topology = value
        terms.append(LocationTerm(location, evidence, topology, orientation, isoform))
    if shared:
        terms = [t if t.evidence else _with_evidence(t, shared) for t in terms]
    return terms


def _with_evidence(term: LocationTerm, evidence: tuple[str, ...]) -> LocationTerm:
    return LocationTerm(term.location, evidence, term.topology, term.orientation, term.isoform)


# --- flat text ---------------------------------------------------------------------------------


def _feature_from_bio(feat: Any) -> Feature:
    loc = feat.location
    exact = (
        loc is not None
        and isinstance(loc.start, ExactPosition)
        and isinstance(loc.end, ExactPosition)
    )
    note = feat.qualifiers.get("note", "")
    evidence = _eco_codes(feat.qualifiers.get("evidence", ""))
    if not exact:
        return Feature(feat.type, None, None, note, evidence)
    return Feature(feat.type, int(loc.start), int(loc.end), note, evidence)


def _canonical_isoform(comments: list[str]) -> str | None:
    """The isoform shown as the entry's sequence ('Sequence=Displayed') in ALTERNATIVE PRODUCTS."""
    for comment in comments:
        if not comment.startswith("ALTERNATIVE PRODUCTS:"):
            continue
        # Each isoform block starts with 'Name=' and ends before the next one.
        for block in comment.split("Name=")[1:]:
            if "Sequence=Displayed" in block:
                name = _EVIDENCE.sub("", block.split(";", 1)[0]).strip()
                return name if name.lower().startswith("isoform") else f"Isoform {name}"
    return None


def _entry_from_record(rec: Any) -> UniProtEntry:
    locations: list[LocationTerm] = []
    n_loc = 0
    for comment in rec.comments:
        if comment.startswith("SUBCELLULAR LOCATION:"):
            n_loc += 1
            locations.extend(parse_location_comment(comment))
    ensembl = []
    for xref in rec.cross_references:
        if xref and xref[0] == "Ensembl":
            ensembl.extend(re.findall(r"ENSG\d+", " ".join(xref[1:])))
    genes = []
    for gene in rec.gene_name or []:
        if isinstance(gene, dict) and gene.get("Name"):
            genes.append(gene["Name"].split("{")[0].strip())
    organelle = " ".join(rec.organelle.split()) or None
    if organelle:
        organelle = _EVIDENCE.sub("", organelle).strip().rstrip(".").strip()
    return UniProtEntry(
        accession=rec.accessions[0],
        entry_name=rec.entry_name,
        reviewed=rec.data_class == "Reviewed",
        sequence=rec.sequence,
        organism=rec.organism.rstrip(".").strip(),
        taxon_id=int(rec.taxonomy_id[0]) if rec.taxonomy_id else None,
        lineage=list(rec.organism_classification),
        fragment=bool(re.search(r"Flags:[^;]*\bFragments?\b|\bFragments?;", rec.description)),
        organelle=organelle,
        locations=locations,
        location_comments=n_loc,
        features=[_feature_from_bio(f) for f in rec.features],
        ensembl_genes=list(dict.fromkeys(ensembl)),
        gene_names=genes,
        canonical_isoform=_canonical_isoform(rec.comments),
        entry_version=rec.annotation_update[1] if rec.annotation_update else None,
    )


def _flat_records(fh: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Yield (first line number, text) of each '//'-terminated record."""
    lines: list[str] = []
    start = 1
    for number, line in enumerate(fh, 1):
        if not lines:
            if not line.strip():
                continue
            start = number
        lines.append(line)
        if line.startswith("//"):
            yield start, "".join(lines)
            lines = []
    if lines:
        yield start, "".join(lines)


def _record_name(text: str) -> str:
    m = re.search(r"^AC   ([^;\s]+)", text, re.M) or re.search(r"^ID   (\S+)", text, re.M)
    return m.group(1) if m else "?"


def _read_flat(path: Path, fh: Iterable[str]) -> Iterator[UniProtEntry]:
    for line_no, text in _flat_records(fh):
        name = _record_name(text)
        if not text.startswith("ID   "):
            yield _malformed(name, f"record at line {line_no} does not start with an ID line")
            continue
        if not text.rstrip().endswith("//"):
            yield _malformed(name, "record is truncated (no closing '//')")
            continue
        try:
            rec = SwissProt.read(io.StringIO(text))
        except (ValueError, IndexError, KeyError, AssertionError) as exc:
            yield _malformed(name, f"cannot parse record at line {line_no} ({exc})")
            continue
        entry = _entry_from_record(rec)
        if not entry.sequence:
            entry.problem = "no sequence"
        yield entry


def _malformed(name: str, problem: str) -> UniProtEntry:
    return UniProtEntry(accession=name, problem=problem)


# --- REST JSON ---------------------------------------------------------------------------------


def _json_codes(obj: dict[str, Any] | None) -> tuple[str, ...]:
    evidences = (obj or {}).get("evidences") or []
    return tuple(dict.fromkeys(e["evidenceCode"] for e in evidences if e.get("evidenceCode")))


def _json_position(pos: dict[str, Any] | None) -> int | None:
    if not pos or pos.get("modifier", "EXACT") != "EXACT" or pos.get("value") is None:
        return None
    return int(pos["value"])


def _json_locations(comment: dict[str, Any]) -> list[LocationTerm]:
    isoform = comment.get("molecule") or None
    shared = _json_codes(comment)  # comment-level evidence, if the entry carries one
    terms = []
    for item in comment.get("subcellularLocations") or []:
        loc = item.get("location") or {}
        if not loc.get("value"):
            continue
        topo = (item.get("topology") or {}).get("value")
        orient = (item.get("orientation") or {}).get("value")
        evidence = _json_codes(loc) or shared
        terms.append(LocationTerm(loc["value"].strip(), evidence, topo, orient, isoform))
    return terms


def _json_canonical(comments: list[dict[str, Any]]) -> str | None:
    for comment in comments:
        if comment.get("commentType") != "ALTERNATIVE PRODUCTS":
            continue
        for iso in comment.get("isoforms") or []:
            if iso.get("isoformSequenceStatus") == "Displayed":
                name = (iso.get("name") or {}).get("value", "")
                return name if name.lower().startswith("isoform") else f"Isoform {name}"
    return None


def entry_from_json(obj: dict[str, Any]) -> UniProtEntry:
    """Convert one UniProt REST JSON entry; a record without an accession is malformed."""
    accession = obj.get("primaryAccession")
    if not isinstance(accession, str) or not accession:
        return _malformed(str(obj.get("uniProtkbId", "?")), "no primaryAccession")
    organism = obj.get("organism") or {}
    comments = obj.get("comments") or []
    locations: list[LocationTerm] = []
    n_loc = 0
    for comment in comments:
        if comment.get("commentType") == "SUBCELLULAR LOCATION":
            n_loc += 1
            locations.extend(_json_locations(comment))
    features = []
    for feat in obj.get("features") or []:
        loc = feat.get("location") or {}
        start, end = _json_position(loc.get("start")), _json_position(loc.get("end"))
        kind = JSON_FEATURE_KEYS.get(feat.get("type", ""), str(feat.get("type", "")).upper())
        features.append(
            Feature(
                kind,
                None if start is None or end is None else start - 1,
                None if start is None or end is None else end,
                feat.get("description") or "",
                _json_codes(feat),
            )
        )
    gene_locations = [
        " ".join(filter(None, (g.get("geneEncodingType"), g.get("value"))))
        for g in obj.get("geneLocations") or []
    ]
    flag = ((obj.get("proteinDescription") or {}).get("flag")) or ""
    common = organism.get("commonName")
    name = organism.get("scientificName", "")
    ensembl = [
        prop["value"].split(".")[0]
        for xref in obj.get("uniProtKBCrossReferences") or []
        if xref.get("database") == "Ensembl"
        for prop in xref.get("properties") or []
        if prop.get("key") == "GeneId" and prop.get("value")
    ]
    sequence = ((obj.get("sequence") or {}).get("value")) or ""
    return UniProtEntry(
        accession=accession,
        entry_name=obj.get("uniProtkbId", ""),
        reviewed=str(obj.get("entryType", "")).startswith("UniProtKB reviewed"),
        sequence=sequence,
        organism=f"{name} ({common})" if common else name,
        taxon_id=organism.get("taxonId"),
        lineage=list(organism.get("lineage") or []),
        fragment="Fragment" in flag,
        organelle="; ".join(gene_locations) or None,
        locations=locations,
        location_comments=n_loc,
        features=features,
        ensembl_genes=list(dict.fromkeys(ensembl)),
        gene_names=[g["geneName"]["value"] for g in obj.get("genes") or [] if g.get("geneName")],
        canonical_isoform=_json_canonical(comments),
        entry_version=(obj.get("entryAudit") or {}).get("entryVersion"),
        problem=None if sequence else "no sequence",
    )


def _read_json(path: Path, text: str) -> Iterator[UniProtEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(data, dict) and "results" in data:
        records = data["results"]
    elif isinstance(data, dict) and "primaryAccession" in data:
        records = [data]
    elif isinstance(data, list):
        records = data
    else:
        raise InputError(
            f"{path}: JSON is not a UniProt entry (no 'primaryAccession' or 'results' key)"
        )
    if not isinstance(records, list):
        raise InputError(f"{path}: JSON 'results' is not a list of UniProt entries")
    for i, obj in enumerate(records):
        if not isinstance(obj, dict):
            yield _malformed(f"#{i + 1}", "JSON record is not an object")
        else:
            yield entry_from_json(obj)


# --- entry point -------------------------------------------------------------------------------


def read_entries(path: str | Path, *, keep_malformed: bool = False) -> Iterator[UniProtEntry]:
    """Stream the entries of a UniProt flat-text or REST JSON file (gzipped or not).

    A file that is empty, unreadable or in another format raises InputError naming it. A
    malformed record (no sequence, unparsable) raises InputError naming file and record, or,
    with `keep_malformed=True`, is yielded with `problem` set so that a caller can count it.
    """
    path = Path(path)
    try:
        with open_text(path) as fh:
            first = ""
            for line in fh:
                if line.strip():
                    first = line
                    break
            if not first:
                raise InputError(f"{path}: file is empty")
            head = first.lstrip("\ufeff").lstrip()
            if head.startswith(("{", "[")):
                records: Iterator[UniProtEntry] = _read_json(path, first + fh.read())
            elif head.startswith("ID   "):
                records = _read_flat(path, _chain(first, fh))
            elif head.startswith(">"):
                raise InputError(f"{path}: looks like FASTA, not UniProt flat text or JSON")
            else:
                raise InputError(
                    f"{path}: not UniProt flat text or JSON (first line: {head[:40].rstrip()!r})"
                )
            for entry in records:
                if entry.problem and not keep_malformed:
                    raise InputError(f"{path}: record {entry.accession}: {entry.problem}")
                yield entry
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{path}: corrupt or truncated gzip file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc


def _chain(first: str, fh: Iterable[str]) -> Iterator[str]:
    yield first
    yield from fh
