"""A seeded demo world: a UniProt flat file, an HPA table and a FASTA, with planted sorting signals.

Every labelled location here is *caused* by a sorting signal planted in the sequence (signal
peptide, transit peptide, NLS/NES, PTS1, KDEL/HDEL, GPI propeptide, signal anchor...), so a
model trained on the demo data can learn the signals and its attention can be checked against
the annotated spans. Around the labelled proteins sit the records every curation filter must
remove. Each removed record fails exactly ONE filter, so a curation funnel can be checked count
by count against `manifest.json`, whatever order its filters run in.

Files written into the output folder (each atomically, the manifest last):
  uniprot_sprot.dat         UniProt flat text, parsed by Bio.SwissProt; includes the human
                            entries with `DR   Ensembl` lines that the HPA table refers to
  subcellular_location.tsv  Human Protein Atlas table (v20-era columns)
  proteome.fasta            unlabelled sequences for the predict demo (UniProt-style headers)
  truth.tsv                 one row per record: planted category, expected curation outcome,
                            classes, membrane flag and experimental signal spans (0-based)
  manifest.json             seed and counts of every planted category and removal kind
"""

from __future__ import annotations

import math
import random
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from Bio.SeqUtils import molecular_weight
from Bio.SeqUtils.CheckSum import crc64

from locflow import __version__
from locflow.classes import LOCATIONS, SIGNALS
from locflow.files import InputError, write_json, write_text

# UniProtKB/Swiss-Prot amino-acid composition (release statistics, percent).
BACKGROUND: dict[str, float] = {
    "A": 8.25, "R": 5.52, "N": 4.06, "D": 5.46, "C": 1.38, "Q": 3.93, "E": 6.72,
    "G": 7.07, "H": 2.27, "I": 5.91, "L": 9.65, "K": 5.80, "M": 2.41, "F": 3.86,
    "P": 4.74, "S": 6.64, "T": 5.35, "W": 1.10, "Y": 2.92, "V": 6.86,
}  # fmt: skip

# Weighted residue pools for the planted signal regions (letters repeated = more likely).
_HYDROPHOBIC = "LLLLLLLLLAAAVVVIIIFFMC"
_TM_CORE = "LLLLLLIIIIVVVVFFFAAAGMWC"
_AMPHIPATHIC_POLAR = "RRRRSSSAAKGTQ"
_AMPHIPATHIC_APOLAR = "LLLLAAFIVW"
_CHLOROPLAST = "SSSSSSSSSTTTTTAAAAPPPRRKVLGGFNQ"
_POLAR_SPACER = "SSTTGGNQPEKA"
_NES_SPACER = "EEDSSQKNGATR"
_NES_PHI = "LLLLLIIVFM"
_PTS1 = ("SKL", "SKL", "SKL", "AKL", "SRL", "SHL")

SIGNAL_NOTES = {
    "MT": "Mitochondrion",
    "CH": "Chloroplast",
    "TH": "Thylakoid",
    "NLS": "Nuclear localization signal",
    "NES": "Nuclear export signal",
    "PTS": "Microbody targeting signal",
}


@dataclass(frozen=True)
class Organism:
    """One source organism: OS text, taxon, lineage (OC), locflow kingdom and UniProt codes."""

    code: str
    name: str
    taxon_id: int
    lineage: tuple[str, ...]
    kingdom: str
    proteome: str


# code | OS line | taxon | kingdom | reference proteome | lineage (OC lines), as in UniProt.
_ORGANISM_TABLE = """\
HUMAN|Homo sapiens (Human).|9606|Animalia|UP000005640|Eukaryota; Metazoa; Chordata; Craniata; \
Vertebrata; Euteleostomi; Mammalia; Eutheria; Euarchontoglires; Primates; Haplorrhini; \
Catarrhini; Hominidae; Homo
MOUSE|Mus musculus (Mouse).|10090|Animalia|UP000000589|Eukaryota; Metazoa; Chordata; Craniata; \
Vertebrata; Euteleostomi; Mammalia; Eutheria; Euarchontoglires; Glires; Rodentia; Myomorpha; \
Muroidea; Muridae; Murinae; Mus; Mus
YEAST|Saccharomyces cerevisiae (strain ATCC 204508 / S288c) (Baker's yeast).|559292|Fungi|\
UP000002311|Eukaryota; Fungi; Dikarya; Ascomycota; Saccharomycotina; Saccharomycetes; \
Saccharomycetales; Saccharomycetaceae; Saccharomyces
ARATH|Arabidopsis thaliana (Mouse-ear cress).|3702|Viridiplantae|UP000006548|Eukaryota; \
Viridiplantae; Streptophyta; Embryophyta; Tracheophyta; Spermatophyta; Magnoliopsida; \
eudicotyledons; Gunneridae; Pentapetalae; rosids; malvids; Brassicales; Brassicaceae; \
Camelineae; Arabidopsis
DICDI|Dictyostelium discoideum (Social amoeba).|44689|Other|UP000002195|Eukaryota; Amoebozoa; \
Evosea; Eumycetozoa; Dictyostelia; Dictyosteliales; Dictyosteliaceae; Dictyostelium
ECOLI|Escherichia coli (strain K12).|83333|Bacteria|UP000000625|Bacteria; Pseudomonadati; \
Pseudomonadota; Gammaproteobacteria; Enterobacterales; Enterobacteriaceae; Escherichia
BACSU|Bacillus subtilis (strain 168).|224308|Bacteria|UP000001570|Bacteria; Bacillati; \
Bacillota; Bacilli; Bacillales; Bacillaceae; Bacillus
"""


def _organisms(table: str) -> dict[str, Organism]:
    out = {}
    for line in table.splitlines():
        code, name, taxon, kingdom, proteome, lineage = line.split("|")
        out[code] = Organism(code, name, int(taxon), tuple(lineage.split("; ")), kingdom, proteome)
    return out


ORGANISMS = _organisms(_ORGANISM_TABLE)

EUKARYOTES = ("HUMAN", "MOUSE", "YEAST", "ARATH", "DICDI")
_EUKARYOTE_WEIGHTS = (0.10, 0.24, 0.25, 0.33, 0.08)

# Planted categories: what signal causes which location. Weights set the share of the
# labelled set; plastid categories exist only in plants.
CATEGORIES: dict[str, float] = {
    "cytoplasm": 0.12,
    "nucleus": 0.12,
    "cytoplasm_nes": 0.06,
    "nucleus_cytoplasm": 0.06,
    "secreted": 0.10,
    "cell_membrane_tm": 0.07,
    "cell_membrane_gpi": 0.04,
    "mitochondrion": 0.09,
    "plastid": 0.04,
    "thylakoid": 0.02,
    "er_lumen": 0.06,
    "lysosome_vacuole": 0.05,
    "golgi": 0.05,
    "peroxisome": 0.05,
    "decoy_internal_pts": 0.01,
    "decoy_internal_kdel": 0.01,
    "decoy_internal_hydrophobic": 0.01,
}
PLANT_ONLY = ("plastid", "thylakoid")

# Curation outcomes of removed records; each removed record fails exactly this one filter.
REMOVALS = (
    "unreviewed",
    "prokaryotic",
    "fragment",
    "organelle_encoded",
    "too_short",
    "no_location",
    "non_experimental",
    "unmapped_term",
)

# Real UniProt location terms that a curation table may reasonably leave unmapped.
UNMAPPED_TERMS = {
    "YEAST": ("Preautophagosomal structure", None),
    "MOUSE": ("Parasitophorous vacuole membrane", "Peripheral membrane protein"),
    "HUMAN": ("Midbody", None),
}

# The class each UniProt term used here means (the generator's own truth, for truth.tsv).
TERM_CLASS: dict[str, str] = {
    "Cytoplasm": "Cytoplasm",
    "Cytoplasm, cytosol": "Cytoplasm",
    "Nucleus": "Nucleus",
    "Nucleus, nucleoplasm": "Nucleus",
    "Nucleus, nucleolus": "Nucleus",
    "Secreted": "Extracellular",
    "Secreted, extracellular space": "Extracellular",
    "Cell membrane": "Cell membrane",
    "Mitochondrion": "Mitochondrion",
    "Mitochondrion matrix": "Mitochondrion",
    "Mitochondrion inner membrane": "Mitochondrion",
    "Plastid, chloroplast": "Plastid",
    "Plastid, chloroplast stroma": "Plastid",
    "Plastid, chloroplast thylakoid lumen": "Plastid",
    "Plastid, chloroplast thylakoid membrane": "Plastid",
    "Endoplasmic reticulum lumen": "Endoplasmic reticulum",
    "Lysosome membrane": "Lysosome/Vacuole",
    "Vacuole lumen": "Lysosome/Vacuole",
    "Golgi apparatus membrane": "Golgi apparatus",
    "Golgi apparatus, Golgi stack membrane": "Golgi apparatus",
    "Peroxisome": "Peroxisome",
    "Peroxisome matrix": "Peroxisome",
}

# Human Protein Atlas locations that agree with each planted category (main, extracellular).
HPA_LOCATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "cytoplasm": (("Cytosol",), ""),
    "cytoplasm_nes": (("Cytosol",), ""),
    "decoy_internal_pts": (("Cytosol",), ""),
    "decoy_internal_kdel": (("Cytosol",), ""),
    "decoy_internal_hydrophobic": (("Cytosol",), ""),
    "nucleus": (("Nucleoplasm",), ""),
    "nucleus_cytoplasm": (("Cytosol", "Nucleoplasm"), ""),
    "secreted": (("Vesicles",), "Predicted to be secreted"),
    "cell_membrane_tm": (("Plasma membrane",), ""),
    "cell_membrane_gpi": (("Plasma membrane",), ""),
    "mitochondrion": (("Mitochondria",), ""),
    "er_lumen": (("Endoplasmic reticulum",), ""),
    "lysosome_vacuole": (("Lysosomes",), ""),
    "golgi": (("Golgi apparatus",), ""),
    "peroxisome": (("Peroxisomes",), ""),
}
HPA_GO = {
    "Cytosol": "GO:0005829",
    "Nucleoplasm": "GO:0005654",
    "Nucleoli": "GO:0005730",
    "Nuclear speckles": "GO:0016607",
    "Vesicles": "GO:0043231",
    "Plasma membrane": "GO:0005886",
    "Mitochondria": "GO:0005739",
    "Endoplasmic reticulum": "GO:0005783",
    "Lysosomes": "GO:0005764",
    "Golgi apparatus": "GO:0005794",
    "Peroxisomes": "GO:0005777",
    "Centrosome": "GO:0005813",
    "Cell Junctions": "GO:0030054",
}
HPA_HEADER = (
    "Gene",
    "Gene name",
    "Reliability",
    "Main location",
    "Additional location",
    "Extracellular location",
    "Enhanced",
    "Supported",
    "Approved",
    "Uncertain",
    "Single-cell variation intensity",
    "Single-cell variation spatial",
    "Cell cycle dependency",
    "GO id",
)
HPA_RELIABILITY = ("Enhanced", "Supported", "Approved", "Uncertain")

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_SURNAMES = ("Okafor", "Lindqvist", "Tanaka", "Moreau", "Novak", "Haddad", "Silva", "Kowalski")
_INITIALS = "ABCDEFGHJKLMNPRSTW"


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


# --- sequences and signals ---------------------------------------------------------------


class _Residues:
    """Seeded residue sampler: background composition and the signal pools."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._aa = list(BACKGROUND)
        self._cum = list(_cumulative(BACKGROUND.values()))

    def background(self, n: int) -> str:
        """n residues with UniProt's amino-acid composition (no Met, so no fake starts)."""
        out = self.rng.choices(self._aa, cum_weights=self._cum, k=n)
        return "".join("L" if a == "M" else a for a in out)

    def pool(self, letters: str, n: int) -> str:
        """n residues drawn from a weighted pool (letters repeated = more likely)."""
        return "".join(self.rng.choices(letters, k=n))

    def signal_peptide(self) -> str:
        """Sec signal peptide: positive n-region, hydrophobic h-region, AxA-like c-region."""
        r = self.rng
        n_region = "M" + r.choice("KR") + self.pool("KRSTAPQN", r.randint(0, 3))
        h_region = self.pool(_HYDROPHOBIC, r.randint(9, 14))
        c_region = self.pool("SGTQAPHN", r.randint(2, 4))
        cleave = r.choice("AVSG") + r.choice("QESLHTA") + r.choice("AGS")
        return n_region + h_region + c_region + cleave

    def helix(self) -> str:
        """A transmembrane helix core of 19-23 hydrophobic residues."""
        core = self.pool(_TM_CORE, self.rng.randint(19, 23))
        return ("W" if self.rng.random() < 0.5 else "Y") + core[1:]

    def basic(self, n: int) -> str:
        """A short positively charged stretch (cytoplasmic side of a TM, 'positive inside')."""
        return self.pool("KKRRRSHQ", n)

    def mito_transit(self) -> str:
        """Amphipathic, Arg-rich, acid-free presequence ending in an R-x-F/Y/L|S-like site."""
        r = self.rng
        n = r.randint(22, 42)
        body = [
            # One face of the helix hydrophobic, the other charged: an Arg in every turn pair.
            r.choice(_AMPHIPATHIC_APOLAR)
            if i % 7 in (0, 3, 4)
            else "R"
            if i % 7 == 1
            else r.choice(_AMPHIPATHIC_POLAR)
            for i in range(n - 4)
        ]
        return "M" + "".join(body[1:]) + "R" + r.choice("SARG") + r.choice("FYL") + r.choice("SA")

    def chloroplast_transit(self) -> str:
        """Ser/Thr-rich, acid-poor stroma transit peptide ending in (V/I)-x-(A/C)."""
        r = self.rng
        return (
            "MA"
            + self.pool(_CHLOROPLAST, r.randint(40, 64))
            + r.choice("VI")
            + r.choice("RKSQ")
            + r.choice("AC")
        )

    def thylakoid_transit(self) -> str:
        """Lumen-targeting peptide: twin Arg, hydrophobic core, AxA cleavage site."""
        r = self.rng
        return (
            self.pool("SATQ", r.randint(2, 5))
            + "RR"
            + self.pool("FLSTAQ", 3)
            + self.pool(_HYDROPHOBIC, r.randint(9, 12))
            + self.pool("SGTQ", 2)
            + "A"
            + r.choice("QSLE")
            + "A"
        )

    def nls(self) -> tuple[str, str]:
        """A monopartite (PKKKRKV-like) or bipartite nuclear localization signal."""
        r = self.rng
        if r.random() < 0.2:
            return (
                "KR" + self.background(10) + "KK" + r.choice("KR") + "K",
                "Bipartite nuclear localization signal",
            )
        core = "".join(r.choice("KKKR") for _ in range(4))
        return "P" + core[:2] + "K" + core[2:] + r.choice("VLIE"), SIGNAL_NOTES["NLS"]

    def nes(self) -> str:
        """A leucine-rich export signal, phi-x(2,3)-phi-x(2,3)-phi-x-phi (LxxxLxxLxL)."""
        r = self.rng
        phi = lambda: r.choice(_NES_PHI)  # noqa: E731
        x = lambda n: self.pool(_NES_SPACER, n)  # noqa: E731
        return phi() + x(r.choice((2, 3))) + phi() + x(r.choice((2, 3))) + phi() + x(1) + phi()

    def gpi_tail(self) -> tuple[str, str]:
        """omega residue, then the propeptide: hydrophilic spacer + hydrophobic tail."""
        r = self.rng
        omega = r.choice("SSNNGAD")
        propeptide = self.pool(_POLAR_SPACER, r.randint(8, 12)) + self.pool(
            _TM_CORE, r.randint(15, 20)
        )
        return omega, propeptide

    def mutate(self, seq: str, identity: float) -> str:
        """Substitute residues (and rarely insert/delete) to reach about `identity`."""
        r = self.rng
        p_sub = min(1.0, (1.0 - identity) * 20 / 19)
        p_indel = (1.0 - identity) * 0.03
        out: list[str] = []
        for a in seq:
            u = r.random()
            if u < p_indel / 2:
                continue
            out.append(self.background(1) if r.random() < p_sub else a)
            if u > 1 - p_indel / 2:
                out.append(self.background(1))
        return "".join(out)


def _cumulative(values: Any) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


class _Builder:
    """Concatenates pieces and records 1-based spans of annotated ones."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.features: list[Feature] = []

    def add(
        self,
        residues: str,
        key: str | None = None,
        note: str | None = None,
        signal: str | None = None,
    ) -> tuple[int, int]:
        start = self.length + 1
        self.parts.append(residues)
        self.length += len(residues)
        if key:
            self.features.append(Feature(key, start, self.length, note, signal=signal))
        return start, self.length

    def feature(
        self, key: str, start: int, end: int, note: str | None = None, signal: str | None = None
    ) -> None:
        self.features.append(Feature(key, start, end, note, signal=signal))

    @property
    def sequence(self) -> str:
        return "".join(self.parts)


def _split(rng: random.Random, body: str, low: float = 0.2, high: float = 0.8) -> tuple[str, str]:
    cut = rng.randint(int(len(body) * low), max(int(len(body) * low), int(len(body) * high)))
    return body[:cut], body[cut:]


def _design(cat: str, org: Organism, body: str, res: _Residues) -> tuple[str, list[Feature]]:
    """Assemble the sequence of a planted category around `body`; return it and its features."""
    r = res.rng
    b = _Builder()
    animal = org.kingdom == "Animalia" or org.code == "DICDI"
    mature = None  # 1-based start of the mature chain
    end_trim = 0  # residues after the chain (GPI propeptide)
    if cat in ("secreted", "er_lumen", "cell_membrane_tm", "cell_membrane_gpi", "lysosome_vacuole"):
        b.add(res.signal_peptide(), "SIGNAL", signal="SP")
        mature = b.length + 1
    if cat == "secreted":
        b.add(body)
    elif cat == "er_lumen":
        b.add(body)
        b.add("KDEL" if animal else "HDEL", "MOTIF", "Prevents secretion from ER")
    elif cat == "cell_membrane_tm" or (cat == "lysosome_vacuole" and animal):
        # Type I: signal peptide, lumenal/extracellular domain, stop-transfer helix, tail.
        ecto_len = max(30, len(body) - r.randint(25, 60))
        ecto = b.add(body[:ecto_len])
        b.add(res.helix(), "TRANSMEM", "Helical", signal="TM")
        if cat == "cell_membrane_tm":
            cyto = b.add(res.basic(3) + body[ecto_len:])
        else:  # a short tail ending in the GYxxPhi tyrosine motif that sorts to lysosomes
            start = b.add(res.basic(3) + body[ecto_len : ecto_len + 6])[0]
            motif = "GY" + res.pool("QTNE", 2) + r.choice("ILVF")
            cyto = (start, b.add(motif, "MOTIF", "Lysosomal targeting motif")[1])
        outside = "Extracellular" if cat == "cell_membrane_tm" else "Lumenal"
        b.feature("TOPO_DOM", *ecto, outside)
        b.feature("TOPO_DOM", *cyto, "Cytoplasmic")
    elif cat == "lysosome_vacuole":
        # Vacuolar sorting determinant in an N-terminal propeptide: QRPL (yeast CPY) or NPIR.
        pro_start = b.length + 1
        b.add(res.pool(_POLAR_SPACER, r.randint(3, 8)))
        b.add("QRPL" if org.kingdom == "Fungi" else "NPIR", "MOTIF", "Vacuolar targeting signal")
        b.add(res.pool(_POLAR_SPACER, r.randint(4, 10)))
        b.feature("PROPEP", pro_start, b.length, "Activation peptide")
        mature = b.length + 1
        b.add(body)
    elif cat == "cell_membrane_gpi":
        b.add(body)
        omega, propeptide = res.gpi_tail()
        pos = b.add(omega)[0]
        b.feature("LIPID", pos, pos, f"GPI-anchor amidated {_RESIDUE_NAME[omega]}")
        b.add(propeptide, "PROPEP", "Removed in mature form", signal="GPI")
        end_trim = len(propeptide)
    elif cat == "mitochondrion":
        b.add(res.mito_transit(), "TRANSIT", SIGNAL_NOTES["MT"], signal="MT")
        mature = b.length + 1
        b.add(body)
    elif cat in ("plastid", "thylakoid"):
        b.add(res.chloroplast_transit(), "TRANSIT", SIGNAL_NOTES["CH"], signal="CH")
        if cat == "thylakoid":
            b.add(res.thylakoid_transit(), "TRANSIT", SIGNAL_NOTES["TH"], signal="TH")
        mature = b.length + 1
        b.add("A" + body)
    elif cat == "golgi":
        # Type II signal anchor: short cytoplasmic N-terminus, then the helix, then the stem.
        cyto = b.add("M" + res.basic(2) + res.background(r.randint(4, 16)))
        b.add(
            res.helix(),
            "TRANSMEM",
            "Helical; Signal-anchor for type II membrane protein",
            signal="TM",
        )
        lumen = b.add(body)
        b.feature("TOPO_DOM", cyto[0], cyto[1], "Cytoplasmic")
        b.feature("TOPO_DOM", lumen[0], lumen[1], "Lumenal")
    elif cat in ("nucleus", "cytoplasm_nes", "nucleus_cytoplasm"):
        b.add("M")
        pieces = []
        if cat != "cytoplasm_nes":
            pieces.append(("NLS",) + res.nls())
        if cat != "nucleus":
            pieces.append(("NES", res.nes(), SIGNAL_NOTES["NES"]))
        r.shuffle(pieces)
        rest = body
        for i, (sig, motif, note) in enumerate(pieces):
            head, rest = _split(r, rest, 0.15 if i == 0 else 0.2, 0.45 if len(pieces) > 1 else 0.8)
            b.add(head)
            b.add(motif, "MOTIF", note, signal=sig)
        b.add(rest)
    elif cat == "peroxisome":
        b.add("M" + body)
        motif = r.choice(_PTS1)
        b.add(motif, "MOTIF", SIGNAL_NOTES["PTS"], signal="PTS")
    elif cat.startswith("decoy_"):
        # Motif-like stretches in the wrong place: they must NOT move the protein.
        decoy = {
            "decoy_internal_pts": lambda: r.choice(_PTS1),
            "decoy_internal_kdel": lambda: r.choice(("KDEL", "HDEL")),
            "decoy_internal_hydrophobic": lambda: res.pool(_HYDROPHOBIC, r.randint(9, 12)),
        }[cat]()
        head, tail = _split(r, body, 0.3, 0.7)
        b.add("M" + head + decoy + tail)
    elif cat == "cytoplasm":
        b.add("M" + body)
    else:
        raise ValueError(f"unknown demo category {cat!r}")
    b.feature("CHAIN", mature or 1, b.length - end_trim)
    return b.sequence, b.features


_RESIDUE_NAME = {
    "S": "serine",
    "N": "asparagine",
    "G": "glycine",
    "A": "alanine",
    "D": "aspartate",
}


def _terms(cat: str, org: Organism, rng: random.Random) -> list[tuple[str, str | None]]:
    """UniProt location terms (and topology) that a planted category gets."""
    animal = org.kingdom == "Animalia" or org.code == "DICDI"
    choices: dict[str, list[list[tuple[str, str | None]]]] = {
        "secreted": [[("Secreted", None)], [("Secreted, extracellular space", None)]],
        "er_lumen": [[("Endoplasmic reticulum lumen", None)]],
        "cell_membrane_tm": [[("Cell membrane", "Single-pass type I membrane protein")]],
        "cell_membrane_gpi": [[("Cell membrane", "Lipid-anchor, GPI-anchor")]],
        "mitochondrion": [[("Mitochondrion matrix", None)], [("Mitochondrion", None)]],
        "plastid": [[("Plastid, chloroplast stroma", None)], [("Plastid, chloroplast", None)]],
        "thylakoid": [[("Plastid, chloroplast thylakoid lumen", None)]],
        "nucleus": [
            [("Nucleus", None)],
            [("Nucleus, nucleoplasm", None)],
            [("Nucleus, nucleolus", None)],
        ],
        "nucleus_cytoplasm": [
            [("Nucleus", None), ("Cytoplasm", None)],
            [("Cytoplasm", None), ("Nucleus", None)],
        ],
        "peroxisome": [[("Peroxisome matrix", None)], [("Peroxisome", None)]],
        "lysosome_vacuole": (
            [[("Lysosome membrane", "Single-pass type I membrane protein")]]
            if animal
            else [[("Vacuole lumen", None)]]
        ),
        "golgi": [
            [("Golgi apparatus membrane", "Single-pass type II membrane protein")],
            [("Golgi apparatus, Golgi stack membrane", "Single-pass type II membrane protein")],
        ],
    }
    cyto = [[("Cytoplasm", None)], [("Cytoplasm, cytosol", None)]]
    return rng.choice(choices.get(cat, cyto))


# --- the world ---------------------------------------------------------------------------


class _World:
    """Seeded generator state: residue sampler, unique identifiers, evidence."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.res = _Residues(self.rng)
        self._used: set[str] = set()
        self.family_count = 0

    def unique(self, make: Any) -> str:
        while True:
            value = make()
            if value not in self._used:
                self._used.add(value)
                return value

    def accession(self, reviewed: bool) -> str:
        r = self.rng
        an = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        if reviewed:  # [OPQ][0-9][A-Z0-9]{3}[0-9]
            return self.unique(
                lambda: (
                    r.choice("OPQ")
                    + str(r.randint(0, 9))
                    + "".join(r.choices(an, k=3))
                    + str(r.randint(0, 9))
                )
            )
        # TrEMBL 10-character form [A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){2}, as in A0A1B4C2D5.
        upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        block = lambda: r.choice(upper) + "".join(r.choices(an, k=2)) + str(r.randint(0, 9))  # noqa: E731
        return self.unique(
            lambda: "A0A" + "".join(r.choices(an, k=2)) + str(r.randint(0, 9)) + block()
        )

    def gene(self) -> str:
        r = self.rng
        # At most 5 characters, so that GENE_SPECIES is a valid UniProt entry name.
        upper = "ABCDEFGHIKLMNPRSTVWYZ"
        return self.unique(lambda: "".join(r.choices(upper, k=3)) + str(r.randint(1, 49)))

    def pubmed(self) -> int:
        return self.rng.randint(10_000_000, 39_999_999)

    def experimental(self, pmid: int) -> str:
        return f"ECO:0000269|PubMed:{pmid}"

    def non_experimental(self) -> str | None:
        r = self.rng
        kind = r.choice(("250", "250", "305", "255", "none"))
        if kind == "250":
            return f"ECO:0000250|UniProtKB:{self.accession(True)}"
        return None if kind == "none" else f"ECO:0000{kind}"

    def length(self) -> int:
        """Body length: log-normal around 300 so whole proteins span about 60-1200."""
        return int(min(1130, max(45, round(math.exp(self.rng.gauss(math.log(290), 0.55))))))

    def organism(self, cat: str) -> Organism:
        if cat in PLANT_ONLY:
            return ORGANISMS["ARATH"]
        return ORGANISMS[self.rng.choices(EUKARYOTES, weights=_EUKARYOTE_WEIGHTS)[0]]

    def category(self) -> str:
        return self.rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]

    def planted(
        self,
        cat: str,
        org: Organism,
        body: str,
        pmid: int | None = None,
        location_evidence: str = "exp",
    ) -> Protein:
        """A protein of a planted category with features and location comment."""
        seq, feats = _design(cat, org, body, self.res)
        pmid = pmid or self.pubmed()
        for f in feats:
            # Signal features mostly carry experimental evidence; ~12% only a prediction.
            if f.key == "TOPO_DOM":
                f.evidence = "ECO:0000255"
            elif f.key not in ("CHAIN", "LIPID"):
                exp = location_evidence == "exp" and self.rng.random() > 0.12
                f.evidence = (
                    self.experimental(pmid) if exp else (self.non_experimental() or "ECO:0000255")
                )
        for f in feats:  # the GPI lipid site shares the evidence of its propeptide
            if f.key == "LIPID":
                f.evidence = next(g.evidence for g in feats if g.key == "PROPEP")
        locs = []
        for term, topo in _terms(cat, org, self.rng):
            ev = self.experimental(pmid) if location_evidence == "exp" else self.non_experimental()
            locs.append(Location(term, ev, topo))
        return Protein(cat, org, seq, feats, locs, body=body)


def _truncate(p: Protein, start: int, end: int) -> None:
    """Make `p` a fragment holding residues [start, end) (0-based); keep features inside."""
    feats = []
    for f in p.features:
        if f.key == "CHAIN":
            continue
        if f.start - 1 >= start and f.end <= end:
            f.start, f.end = f.start - start, f.end - start
            feats.append(f)
    length = end - start
    chain = Feature("CHAIN", 1, length)
    chain.location = f"{'<' if start > 0 else ''}1..{'>' if end < len(p.sequence) else ''}{length}"
    feats.append(chain)
    if start > 0:
        feats.append(Feature("NON_TER", 1, 1, location="1"))
    if end < len(p.sequence):
        feats.append(Feature("NON_TER", length, length, location=str(length)))
    p.sequence = p.sequence[start:end]
    p.features = feats
    p.fragment = True


def _kept(world: _World, n: int) -> list[Protein]:
    """The labelled set: families of planted proteins, with duplicates, noise and mixed evidence."""
    rng = world.rng
    out: list[Protein] = []
    # Boundary case: 41 residues passes the "longer than 40" filter.
    boundary = world.planted("cytoplasm", world.organism("cytoplasm"), world.res.background(40))
    boundary.family = world.family_count
    world.family_count += 1
    out.append(boundary)
    duplicates = max(2, n // 250)
    sizes, size_w = (1, 2, 3, 4, 5, 6), (0.5, 0.2, 0.13, 0.08, 0.05, 0.04)
    while len(out) < n:
        cat = world.category()
        size = min(rng.choices(sizes, weights=size_w)[0], n - len(out))
        fam = world.family_count
        world.family_count += 1
        parent = world.res.background(world.length())
        first: Protein | None = None
        for i in range(size):
            if i == 1 and duplicates and first and first.organism.kingdom == "Animalia":
                # Exact duplicate: the same sequence in another mammal (orthologs can be).
                duplicates -= 1
                other = "MOUSE" if first.organism.code == "HUMAN" else "HUMAN"
                p = Protein(
                    cat,
                    ORGANISMS[other],
                    first.sequence,
                    [Feature(**vars(f)) for f in first.features],
                    [Location(**vars(loc)) for loc in first.locations],
                )
                p.noise = "duplicate"
            else:
                body = parent if i == 0 else world.res.mutate(parent, rng.uniform(0.35, 0.95))
                p = world.planted(cat, world.organism(cat), body)
            p.family = fam
            first = first or p
            out.append(p)
    # Label noise (~3%): an extra or swapped location that no planted signal explains.
    candidates = [p for p in out if not p.noise and not p.category.startswith("decoy_")]
    for p in rng.sample(candidates, max(2, round(0.03 * n))):
        term = rng.choice(["Nucleus", "Cytoplasm", "Mitochondrion", "Secreted", "Cell membrane"])
        if any(TERM_CLASS[loc.term] == TERM_CLASS[term] for loc in p.locations):
            term = "Peroxisome"
        ev = p.locations[0].evidence
        if rng.random() < 0.5:
            p.locations.append(Location(term, ev))
            p.noise = "extra_location"
        else:
            p.locations = [Location(term, ev)]
            p.noise = "swapped_location"
    # Mixed evidence: a second term only by similarity; it must not become a label.
    candidates = [p for p in out if not p.noise and len(p.locations) == 1]
    for p in rng.sample(candidates, max(2, round(0.01 * n))):
        extra = "Cytoplasm" if TERM_CLASS[p.locations[0].term] != "Cytoplasm" else "Nucleus"
        p.locations.append(Location(extra, f"ECO:0000250|UniProtKB:{world.accession(True)}"))
        p.noise = "mixed_evidence"
    return out


def _removed(world: _World, n: int) -> list[Protein]:
    """Records each failing exactly one curation filter, `n` of each kind."""
    rng, res = world.rng, world.res
    out: list[Protein] = []

    def some_planted(extra: int = 0) -> Protein:
        cat = rng.choice([c for c in CATEGORIES if not c.startswith("decoy_")])
        return world.planted(cat, world.organism(cat), res.background(world.length() + extra))

    for kind in REMOVALS:
        for i in range(n):
            if kind == "unreviewed":
                p = some_planted()
                p.reviewed = False
            elif kind == "prokaryotic":
                org = ORGANISMS[rng.choice(("ECOLI", "BACSU"))]
                cat = rng.choice(("secreted", "cytoplasm", "cytoplasm"))
                p = world.planted(cat, org, res.background(world.length()))
                p.locations[0].term = {"secreted": "Secreted"}.get(cat, "Cytoplasm")
            elif kind == "fragment":
                p = some_planted(extra=60)
                keep = rng.randint(max(45, len(p.sequence) // 2), len(p.sequence) - 5)
                start = 0 if i % 2 == 0 else len(p.sequence) - keep
                _truncate(p, start, start + keep)
            elif kind == "organelle_encoded":
                code = rng.choice(("HUMAN", "YEAST", "ARATH"))
                plastid = code == "ARATH" and i % 2 == 0
                p = _multipass(world, ORGANISMS[code])
                p.organelle = "Plastid; Chloroplast." if plastid else "Mitochondrion."
                p.locations = [
                    Location(
                        "Plastid, chloroplast thylakoid membrane"
                        if plastid
                        else "Mitochondrion inner membrane",
                        p.locations[0].evidence,
                        "Multi-pass membrane protein",
                    )
                ]
            elif kind == "too_short":
                # 40 residues and fewer: secreted peptides; the first one is exactly 40.
                length = 40 if i == 0 else rng.randint(22, 40)
                p = world.planted("secreted", world.organism("secreted"), "")
                p.sequence = (p.sequence + res.background(40))[:length]
                # Keep the signal peptide only if a mature peptide of >= 8 residues remains.
                p.features = [f for f in p.features if f.key == "SIGNAL" and f.end <= length - 8]
                p.features.append(
                    Feature("CHAIN", p.features[0].end + 1 if p.features else 1, length)
                )
            elif kind == "no_location":
                p = some_planted()
                p.locations = []
            elif kind == "non_experimental":
                cat = rng.choice([c for c in CATEGORIES if not c.startswith("decoy_")])
                p = world.planted(
                    cat,
                    world.organism(cat),
                    res.background(world.length()),
                    location_evidence="similarity",
                )
                if all(loc.evidence and "ECO:0000269" in loc.evidence for loc in p.locations):
                    raise AssertionError("non-experimental record got experimental evidence")
            else:  # unmapped_term
                code = ("YEAST", "MOUSE", "HUMAN")[i % 3]
                p = world.planted("cytoplasm", ORGANISMS[code], res.background(world.length()))
                term, topo = UNMAPPED_TERMS[code]
                p.locations = [Location(term, p.locations[0].evidence, topo)]
                p.category = "unmapped_term"
            p.outcome = kind
            out.append(p)
    return out


def _multipass(world: _World, org: Organism) -> Protein:
    """An organelle-encoded multi-pass membrane protein (no transit peptide, as in life)."""
    res = world.res
    b = _Builder()
    b.add("M" + res.background(world.rng.randint(5, 30)))
    for _ in range(world.rng.randint(3, 7)):
        b.add(res.helix(), "TRANSMEM", "Helical")
        b.add(res.background(world.rng.randint(8, 40)))
    b.feature("CHAIN", 1, b.length)
    pmid = world.pubmed()
    for f in b.features:
        f.evidence = "ECO:0000255" if f.key == "TRANSMEM" else None
    return Protein(
        "organelle_encoded",
        org,
        b.sequence,
        b.features,
        [Location("Mitochondrion inner membrane", world.experimental(pmid))],
    )


def _hpa_only(world: _World, n: int, kept: list[Protein]) -> list[Protein]:
    """Human entries without experimental location: curation drops them, HPA labels them.

    About a third are orthologs (mutated copies) of labelled families, so filtering the test
    set against training data has work to do.
    """
    rng, res = world.rng, world.res
    human = ORGANISMS["HUMAN"]
    cats = [c for c in HPA_LOCATIONS if not c.startswith("decoy_")]
    parents = [
        p
        for p in kept
        if p.category in cats and p.organism.kingdom == "Animalia" and len(p.body) >= 45
    ]
    out = []
    for i in range(n):
        if parents and i % 3 == 0:
            src = rng.choice(parents)
            cat = src.category
            body = res.mutate(src.body, rng.uniform(0.5, 0.95))
        else:
            cat = rng.choice(cats)
            body = res.background(world.length())
        p = world.planted(cat, human, body, location_evidence="similarity")
        if i % 5 == 4:
            p.locations = []
            p.outcome = "no_location"
        else:
            p.outcome = "non_experimental"
        p.hpa = True
        out.append(p)
    return out


# --- naming and cross-references -----------------------------------------------------------

_NAME_BY_CATEGORY = {
    "cytoplasm": "Cytosolic protein",
    "nucleus": "Nuclear protein",
    "cytoplasm_nes": "Shuttling export protein",
    "nucleus_cytoplasm": "Nucleocytoplasmic protein",
    "secreted": "Secreted glycoprotein",
    "cell_membrane_tm": "Cell surface receptor",
    "cell_membrane_gpi": "GPI-anchored surface protein",
    "mitochondrion": "Mitochondrial matrix protein",
    "plastid": "Chloroplast stromal protein",
    "thylakoid": "Thylakoid lumen protein",
    "er_lumen": "ER resident protein",
    "lysosome_vacuole": "Lysosomal/vacuolar protein",
    "golgi": "Golgi glycosyltransferase",
    "peroxisome": "Peroxisomal enzyme",
    "organelle_encoded": "Organellar membrane protein",
    "unmapped_term": "Uncharacterized protein",
}


def _name(world: _World, p: Protein) -> None:
    """Give `p` accessions, an entry name, a gene and cross-references."""
    rng = world.rng
    p.accession = world.accession(p.reviewed)
    if rng.random() < 0.2:
        p.secondary = [world.accession(True) for _ in range(rng.randint(1, 3))]
    p.gene = world.gene()
    if p.reviewed:
        p.entry_name = f"{p.gene}_{p.organism.code}"
    else:
        p.entry_name = f"{p.accession}_{p.organism.code}"
    base = _NAME_BY_CATEGORY.get(p.category, "Uncharacterized protein")
    p.name = f"{base} {p.gene}" if not p.category.startswith("decoy_") else f"Protein {p.gene}"
    if p.organism.code == "ARATH":
        p.locus = f"At{rng.randint(1, 5)}g{rng.randint(1, 7999) * 10:05d}"
    elif p.organism.code == "YEAST":
        chromosome, arm = rng.choice("ABCDEFGHIJKLMNOP"), rng.choice("LR")
        p.locus = f"Y{chromosome}{arm}{rng.randint(1, 450):03d}{rng.choice('WC')}"
    if p.organism.code in ("HUMAN", "MOUSE"):
        pre = "ENS" if p.organism.code == "HUMAN" else "ENSMUS"
        num = lambda: f"{rng.randint(1, 299_999):011d}"  # noqa: E731
        gene = world.unique(lambda: f"{pre}G{num()}")
        p.ensembl = (
            f"{pre}T{num()}.{rng.randint(1, 12)}",
            f"{pre}P{num()}.{rng.randint(1, 9)}",
            f"{gene}.{rng.randint(1, 20)}",
        )


# --- writers --------------------------------------------------------------------------------


def _wrap(first: str, rest: str, text: str, width: int = 80) -> list[str]:
    """Wrap at spaces only (parsers re-join continuation lines with one space)."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _date(rng: random.Random, year_low: int, year_high: int) -> str:
    return f"{rng.randint(1, 28):02d}-{rng.choice(_MONTHS)}-{rng.randint(year_low, year_high)}"


def _keywords(p: Protein) -> list[str]:
    kws = set()
    keys = {f.key for f in p.features}
    notes = {f.note for f in p.features}
    if "SIGNAL" in keys:
        kws.add("Signal")
    if "TRANSIT" in keys:
        kws.add("Transit peptide")
    if "TRANSMEM" in keys:
        kws.update(("Membrane", "Transmembrane", "Transmembrane helix"))
    if any(n and n.startswith("GPI-anchor") for n in notes):
        kws.update(("GPI-anchor", "Lipoprotein", "Membrane"))
    by_class = {
        "Cytoplasm": "Cytoplasm",
        "Nucleus": "Nucleus",
        "Extracellular": "Secreted",
        "Cell membrane": "Cell membrane",
        "Mitochondrion": "Mitochondrion",
        "Plastid": "Chloroplast",
        "Endoplasmic reticulum": "Endoplasmic reticulum",
        "Golgi apparatus": "Golgi apparatus",
        "Peroxisome": "Peroxisome",
    }
    for loc in p.locations:
        cls = TERM_CLASS.get(loc.term)
        if cls in by_class:
            kws.add(by_class[cls])
        if cls == "Plastid":
            kws.add("Plastid")
        if cls == "Lysosome/Vacuole":
            kws.add("Lysosome" if loc.term.startswith("Lysosome") else "Vacuole")
    if p.reviewed:
        kws.add("Reference proteome")
    return sorted(kws)


_FT_ORDER = {
    "SIGNAL": 0,
    "PROPEP": 0,
    "TRANSIT": 0,
    "CHAIN": 0,
    "TOPO_DOM": 1,
    "TRANSMEM": 1,
    "MOTIF": 2,
    "LIPID": 3,
    "NON_TER": 4,
}


def entry_text(p: Protein, world: _World) -> str:
    """One UniProt flat-file entry, `ID` to `//`, in the current (2025) line formats."""
    rng = world.rng
    status = "Reviewed" if p.reviewed else "Unreviewed"
    db = "UniProtKB/Swiss-Prot" if p.reviewed else "UniProtKB/TrEMBL"
    lines = [f"ID   {p.entry_name:<24}{status + ';':<11}{len(p.sequence):>10} AA."]
    lines += _wrap("AC   ", "AC   ", " ".join(f"{a};" for a in [p.accession, *p.secondary]))
    lines.append(f"DT   {_date(rng, 1990, 2012)}, integrated into {db}.")
    lines.append(f"DT   {_date(rng, 2012, 2018)}, sequence version {rng.randint(1, 3)}.")
    lines.append(f"DT   {_date(rng, 2025, 2025)}, entry version {rng.randint(40, 220)}.")
    lines.append(f"DE   {'RecName' if p.reviewed else 'SubName'}: Full={p.name};")
    flags = (["Precursor"] if p.precursor else []) + (["Fragment"] if p.fragment else [])
    if flags:
        lines.append("DE   Flags: " + " ".join(f"{f};" for f in flags))
    gn = f"Name={p.gene};" + (f" OrderedLocusNames={p.locus};" if p.locus else "")
    lines.append(f"GN   {gn}")
    lines += _wrap("OS   ", "OS   ", p.organism.name)
    if p.organelle:
        lines.append(f"OG   {p.organelle}")
    lines += _wrap("OC   ", "OC   ", "; ".join(p.organism.lineage) + ".")
    lines.append(f"OX   NCBI_TaxID={p.organism.taxon_id};")
    pmids = sorted({int(e.split(":")[-1]) for e in _evidences(p) if "PubMed" in e})
    for i, pmid in enumerate(pmids or [world.pubmed()], start=1):
        lines.append(f"RN   [{i}]")
        what = "NUCLEOTIDE SEQUENCE [MRNA]" if i == 1 else "SUBCELLULAR LOCATION"
        lines.append(f"RP   {what}{', AND SUBCELLULAR LOCATION' if i == 1 and pmids else ''}.")
        lines.append(f"RX   PubMed={pmid};")
        lines.append(
            f"RA   {rng.choice(_SURNAMES)} {rng.choice(_INITIALS)}., "
            f"{rng.choice(_SURNAMES)} {rng.choice(_INITIALS)}.;"
        )
        lines.append('RT   "Synthetic reference of the locflow demo data.";')
        lines.append(
            f"RL   Unpublished observations ({rng.choice(_MONTHS)}-{rng.randint(1995, 2024)})."
        )
    if p.locations:
        parts = []
        for loc in p.locations:
            text = loc.term + (f" {{{loc.evidence}}}" if loc.evidence else "")
            if loc.topology:
                text += f"; {loc.topology}" + (f" {{{loc.evidence}}}" if loc.evidence else "")
            parts.append(text + ".")
        lines += _wrap("CC   -!- ", "CC       ", "SUBCELLULAR LOCATION: " + " ".join(parts))
    lines += _wrap(
        "CC   -!- ",
        "CC       ",
        f"MISCELLANEOUS: Synthetic entry generated by "
        f"locflow make-demo-data (seed {world.seed}); not a real protein.",
    )
    if p.ensembl:
        lines.append("DR   Ensembl; " + "; ".join(p.ensembl) + ".")
    if p.organism.code == "ARATH" and p.locus:
        up = p.locus.upper()
        lines.append(f"DR   EnsemblPlants; {up}.1; {up}.1; {up}.")
    lines.append(f"DR   Proteomes; {p.organism.proteome}; Chromosome {rng.randint(1, 19)}.")
    lines.append(
        "PE   1: Evidence at protein level;" if p.reviewed else "PE   3: Inferred from homology;"
    )
    kws = _keywords(p)
    if kws:
        lines += _wrap("KW   ", "KW   ", "; ".join(kws) + ".")
    for f in sorted(p.features, key=lambda f: (_FT_ORDER.get(f.key, 2), f.start, f.end)):
        loc = f.location or (
            str(f.start) if f.start == f.end and f.key != "CHAIN" else f"{f.start}..{f.end}"
        )
        lines.append(f"FT   {f.key:<8}        {loc}")
        note = p.name if f.key == "CHAIN" else f.note
        if note:
            lines.append(f'FT                   /note="{note}"')
        if f.key == "CHAIN" and p.reviewed:
            lines.append(f'FT                   /id="PRO_{rng.randint(1, 999_999):010d}"')
        if f.evidence:
            lines.append(f'FT                   /evidence="{f.evidence}"')
    seq = p.sequence
    mw = round(molecular_weight(seq, seq_type="protein"))
    lines.append(f"SQ   SEQUENCE   {len(seq)} AA;  {mw} MW;  {crc64(seq)[4:]} CRC64;")
    for i in range(0, len(seq), 60):
        chunk = seq[i : i + 60]
        lines.append("     " + " ".join(chunk[j : j + 10] for j in range(0, len(chunk), 10)))
    lines.append("//")
    return "\n".join(lines) + "\n"


def _evidences(p: Protein) -> list[str]:
    out = [loc.evidence for loc in p.locations if loc.evidence]
    out += [f.evidence for f in p.features if f.evidence]
    return [e for e in out if e]


def _hpa_rows(world: _World, humans: list[Protein], extra: int) -> tuple[list[list[str]], Counter]:
    """HPA `subcellular_location.tsv` rows for most human entries, plus genes UniProt lacks."""
    rng = world.rng
    stats: Counter = Counter()
    rows = []
    for p in humans:
        if rng.random() > 0.88 or p.category not in HPA_LOCATIONS:
            stats["human_entries_without_hpa"] += 1
            continue
        main, extracellular = HPA_LOCATIONS[p.category]
        rows.append(_hpa_row(rng, p.ensembl[2].split(".")[0], p.gene, main, extracellular))
        stats["genes_with_uniprot"] += 1
    for _ in range(extra):
        gene = world.unique(lambda: f"ENSG{rng.randint(1, 299_999):011d}")
        cat = rng.choice(list(HPA_LOCATIONS))
        main, extracellular = HPA_LOCATIONS[cat]
        rows.append(_hpa_row(rng, gene, world.gene(), main, extracellular))
        stats["genes_without_uniprot"] += 1
    rows.sort(key=lambda row: row[0])
    for row in rows:
        stats[f"reliability_{row[2]}"] += 1
    return rows, stats


def _hpa_row(
    rng: random.Random, gene: str, name: str, main: tuple[str, ...], extracellular: str
) -> list[str]:
    """One HPA row; Enhanced/Supported locations agree with the planted signals."""
    reliability = rng.choices(HPA_RELIABILITY, weights=(0.2, 0.35, 0.35, 0.1))[0]
    main = tuple(sorted(main))
    additional: tuple[str, ...] = ()
    if reliability == "Uncertain":
        # Uncertain annotations are discordant: the curation must drop them.
        main = (rng.choice(sorted(set(HPA_GO) - set(main))),)
    elif rng.random() < 0.25:
        additional = (rng.choice(sorted(set(HPA_GO) - set(main))),)
    by_level = {r: [] for r in HPA_RELIABILITY}
    by_level[reliability] += main
    # Additional locations are seen with less confidence than the main one.
    by_level["Approved" if reliability != "Uncertain" else "Uncertain"] += additional
    everything = sorted(set(main) | set(additional))
    variation = rng.choice(everything) if rng.random() < 0.08 else ""
    return [
        gene,
        name,
        reliability,
        ";".join(main),
        ";".join(additional),
        extracellular,
        *(";".join(sorted(by_level[r])) for r in HPA_RELIABILITY),
        variation,
        "",
        "",
        ";".join(f"{loc} ({HPA_GO[loc]})" for loc in everything),
    ]


def _tsv(rows: list[list[str]] | list[tuple[str, ...]]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def _proteome(world: _World, n: int) -> tuple[str, list[Protein], Counter]:
    """Unlabelled sequences for the predict demo, plus a few input quirks predict must handle."""
    rng = world.rng
    records, proteins = [], []
    stats: Counter = Counter()
    for i in range(n):
        cat = world.category()
        org = world.organism(cat)
        length = 2400 if i == n // 2 else world.length()  # one long one: clipping in action
        p = world.planted(cat, org, world.res.background(length))
        p.reviewed = False
        _name(world, p)
        p.outcome = "proteome"
        seq = p.sequence
        species = p.organism.name.split(" (")[0].rstrip(".")
        header = (
            f">tr|{p.accession}|{p.entry_name} Uncharacterized protein OS={species} "
            f"OX={p.organism.taxon_id} GN={p.gene} PE=4 SV=1"
        )
        quirk = (
            ("lowercase", "stop_codon", "rare_residues")[i // 7] if i % 7 == 3 and i < 21 else ""
        )
        if quirk == "lowercase":
            seq = seq.lower()
        elif quirk == "stop_codon":
            seq = seq + "*"
        elif quirk == "rare_residues":
            seq = seq[:40] + "U" + seq[41:60] + "X" + seq[61:]
            p.sequence = seq
        if quirk:
            stats[quirk] += 1
        records.append(header + "\n" + _fasta_lines(seq))
        proteins.append(p)
    # One nucleotide record: predict must report it, not drop it.
    dna = "".join(rng.choices("ACGT", k=240))
    records.append(">demo_nucleotide_record accidentally pasted DNA\n" + _fasta_lines(dna))
    stats["not_protein"] += 1
    return "".join(records), proteins, stats


def _fasta_lines(seq: str) -> str:
    return "".join(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))


def _truth_rows(proteins: list[Protein]) -> list[tuple[str, ...]]:
    header = (
        "accession",
        "entry_name",
        "source",
        "organism",
        "kingdom",
        "category",
        "outcome",
        "classes",
        "membrane",
        "signals",
        "family",
        "noise",
        "length",
    )
    rows: list[tuple[str, ...]] = [header]
    for p in proteins:
        kept = p.outcome in ("kept", "proteome")
        planted = p.signals(experimental_only=p.outcome != "proteome") if kept else []
        sigs = ";".join(f"{t}:{s}-{e}" for t, s, e in planted)
        classes = p.classes() if p.outcome == "kept" else []
        membrane = p.membrane() if p.outcome == "kept" else any(loc.topology for loc in p.locations)
        if p.outcome == "proteome":
            classes = sorted({TERM_CLASS[loc.term] for loc in p.locations}, key=LOCATIONS.index)
        rows.append(
            (
                p.accession,
                p.entry_name,
                "proteome" if p.outcome == "proteome" else "uniprot",
                p.organism.code,
                p.organism.kingdom,
                p.category,
                p.outcome,
                ";".join(classes),
                str(int(membrane)),
                sigs,
                str(p.family),
                p.noise,
                str(len(p.sequence)),
            )
        )
    return rows


def make_demo_data(
    out: str | Path, *, seed: int = 0, proteins: int = 600, proteome: int = 200
) -> dict[str, Any]:
    """Write the demo world into `out`; return the manifest (also written as manifest.json)."""
    if proteins < 20:
        raise InputError(f"make-demo-data: --proteins must be at least 20, got {proteins}")
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
