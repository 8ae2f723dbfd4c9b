"""Sequence design: the seeded residue sampler and the planted sorting signals.

`_Residues` draws background and signal residues (signal peptide, transit peptides, NLS/NES,
transmembrane helix, GPI tail, mutation for family members); `_design` assembles the sequence
of one planted category around a background body and records its features; `_terms` gives the
UniProt location terms the category gets.
"""

from __future__ import annotations

import random
from typing import Any

from locflow.demo.data.records import Feature
from locflow.demo.data.vocabulary import BACKGROUND, SIGNAL_NOTES, Organism

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
