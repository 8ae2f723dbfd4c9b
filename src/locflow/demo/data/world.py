"""The synthetic world: seeded generator state and the sets of records it plants.

`_World` holds the random generator, hands out unique identifiers and evidence codes, and
plants one protein of a category. `_kept` builds the labelled set (families, duplicates, label
noise, mixed evidence), `_removed` the records that each fail exactly one curation filter,
`_hpa_only` the human entries only the Human Protein Atlas labels; `_name` gives a record its
accessions, gene, entry name and Ensembl cross-references.
"""

from __future__ import annotations

import math
import random
from typing import Any

from locflow.demo.data.design import _Builder, _design, _Residues, _terms
from locflow.demo.data.records import Feature, Location, Protein
from locflow.demo.data.vocabulary import (
    CATEGORIES,
    EUKARYOTES,
    HPA_LOCATIONS,
    ORGANISMS,
    PLANT_ONLY,
    REMOVALS,
    TERM_CLASS,
    UNMAPPED_TERMS,
    Organism,
)

_EUKARYOTE_WEIGHTS = (0.10, 0.24, 0.25, 0.33, 0.08)


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
