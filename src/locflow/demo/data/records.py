"""One generated record: `Protein` with its `Feature` (FT) and `Location` (CC) lines.

A record carries its planted truth (category, expected curation outcome, family, noise) next
to what the flat file will say, and answers what curation should find in it: classes from
experimental terms, the membrane flag, the experimental signal spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from locflow.data.classes import LOCATIONS
from locflow.demo.data.vocabulary import TERM_CLASS, Organism


@dataclass
class Feature:
    """One FT line: key, 1-based inclusive span, note, evidence, and the signal type it plants."""

    key: str
    start: int
    end: int
    note: str | None = None
    evidence: str | None = None
    signal: str | None = None
    location: str | None = None  # overrides "start..end" (fuzzy ends of fragments)


@dataclass
class Location:
    """One subcellular location term of a CC SUBCELLULAR LOCATION comment."""

    term: str
    evidence: str | None
    topology: str | None = None


@dataclass
class Protein:
    """One generated record with its planted truth."""

    category: str
    organism: Organism
    sequence: str
    features: list[Feature]
    locations: list[Location]
    outcome: str = "kept"
    reviewed: bool = True
    fragment: bool = False
    organelle: str | None = None
    family: int = -1
    noise: str = ""
    accession: str = ""
    secondary: list[str] = field(default_factory=list)
    entry_name: str = ""
    gene: str = ""
    locus: str = ""
    name: str = ""
    ensembl: tuple[str, str, str] | None = None
    hpa: bool = False
    body: str = ""  # the background residues the signals were planted around

    @property
    def precursor(self) -> bool:
        """True if a signal or transit peptide or propeptide is cleaved off."""
        return any(f.key in ("SIGNAL", "TRANSIT", "PROPEP") for f in self.features)

    def classes(self) -> list[str]:
        """Classes from location terms carrying experimental evidence (ECO:0000269)."""
        got = {
            TERM_CLASS[loc.term]
            for loc in self.locations
            if loc.evidence and "ECO:0000269" in loc.evidence and loc.term in TERM_CLASS
        }
        return [c for c in LOCATIONS if c in got]

    def membrane(self) -> bool:
        """True if an experimental location has a membrane topology or names a membrane."""
        return any(
            loc.evidence
            and "ECO:0000269" in loc.evidence
            and (loc.topology or "membrane" in loc.term.split(",")[-1])
            for loc in self.locations
        )

    def signals(self, experimental_only: bool = True) -> list[tuple[str, int, int]]:
        """Planted signals (with experimental evidence) as (type, start, end), 0-based half-open."""
        out = []
        for f in self.features:
            exp = bool(f.evidence and "ECO:0000269" in f.evidence)
            if f.signal and (exp or not experimental_only):
                out.append((f.signal, f.start - 1, f.end))
        return sorted(out, key=lambda s: (s[1], s[2], s[0]))
