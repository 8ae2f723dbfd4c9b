"""Small protein sets built to be hard for homology partitioning, with known ground truth.

Sequences are random but realistic in composition; relatives are made by point substitutions
at chosen identity (no indels, first and last residues kept, so that a local alignment spans
the whole shorter sequence and the identity is known exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from locflow.data.classes import LOCATIONS
from locflow.data.tables import protein_record, proteins_table

AMINO = "ACDEFGHIKLMNPQRSTVWY"
# UniProt background frequencies, so that MMseqs2's composition statistics behave normally.
FREQ = np.array(
    [8.25, 1.38, 5.46, 6.72, 3.86, 7.07, 2.27, 5.91, 5.80, 9.65,
     2.41, 4.06, 4.74, 3.93, 5.53, 6.64, 5.35, 6.86, 1.10, 2.92]
)  # fmt: skip
FREQ = FREQ / FREQ.sum()


def random_protein(rng: np.random.Generator, length: int) -> str:
    """A random protein with background composition, starting with M."""
    return "M" + "".join(rng.choice(list(AMINO), size=length - 1, p=FREQ))


def mutate(rng: np.random.Generator, seq: str, identity: float) -> str:
    """Substitute interior residues so that exactly round(identity * len) positions stay."""
    chars = list(seq)
    n = len(chars)
    n_change = n - round(identity * n)
    for pos in rng.choice(np.arange(1, n - 1), size=n_change, replace=False):
        chars[pos] = rng.choice([a for a in AMINO if a != chars[pos]])
    return "".join(chars)


def mutate_blocks(rng: np.random.Generator, seq: str, identity: float, block: int = 10) -> str:
    """Keep round(identity * len) residues in conserved blocks, substitute all others.

    Real homologs keep conserved motifs; evenly spread substitutions (`mutate`) leave so few
    shared k-mers at 30% identity that only every-pair alignment finds them.
    """
    n = len(seq)
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    target = round(identity * n)
    for start in rng.permutation(np.arange(1, n - block - 1)):
        if keep.sum() >= target:
            break
        keep[start : start + min(block, target - int(keep.sum()))] = True
    chars = list(seq)
    for pos in np.flatnonzero(~keep):
        chars[pos] = rng.choice([a for a in AMINO if a != chars[pos]])
    return "".join(chars)


@dataclass
class HardSet:
    """Proteins plus the relations the generator planted."""

    rows: list[dict] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    fragments: list[tuple[str, str]] = field(default_factory=list)
    chains: list[list[str]] = field(default_factory=list)
    families: list[list[str]] = field(default_factory=list)
    bridges: list[str] = field(default_factory=list)
    singletons: list[str] = field(default_factory=list)

    def table(self) -> pa.Table:
        """The proteins table."""
        return proteins_table(self.rows)

    def add(self, pid: str, seq: str, locs: list[str]) -> str:
        """Append a protein; return its id."""
        self.rows.append(protein_record(pid, seq, locs, kingdom="Animalia"))
        return pid


def hard_set(seed: int = 0, families: int = 10, members: int = 8, giant: int = 7) -> HardSet:
    """Families, a giant component of bridged families, chains, duplicates, fragments, singletons.

    `giant` of the families are strung together by two-domain fusion proteins, so they form one
    connected component larger than one fold; the partitioner must cut the bridges.
    """
    rng = np.random.default_rng(seed)
    out = HardSet()
    common = [c for c in LOCATIONS if c != "Peroxisome"]
    roots = [random_protein(rng, int(rng.integers(120, 220))) for _ in range(families)]
    for f, root in enumerate(roots):
        fam = []
        for m in range(members):
            # Members at 70% of the root share about 50% with each other: a dense family.
            seq = mutate(rng, root, 0.7)
            locs = [common[(f + m) % len(common)]]
            if m == 0 and f % 2 == 0:
                locs.append("Peroxisome")  # a rare class, multi-label, spread over families
            fam.append(out.add(f"F{f}_{m}", seq, locs))
        out.families.append(fam)
    # Fusions of two consecutive giant families' domains: each is a homolog of both families.
    for f in range(giant - 1):
        fused = mutate(rng, roots[f], 0.7) + mutate(rng, roots[f + 1], 0.7)
        out.bridges.append(out.add(f"B{f}", fused, ["Cytoplasm"]))
    # Chains: A ~ B ~ C ~ D at about 45% each step; ends share only ~10% or less.
    for c in range(3):
        seq = random_protein(rng, 200)
        chain = [out.add(f"C{c}_0", seq, ["Nucleus"])]
        for step in range(1, 4):
            seq = mutate(rng, seq, 0.45)
            chain.append(out.add(f"C{c}_{step}", seq, ["Nucleus", "Cytoplasm"]))
        out.chains.append(chain)
    # Exact duplicates under other ids, and fragments contained in longer proteins.
    for f in range(0, families, 3):
        src = out.families[f][1]
        seq = next(r["sequence"] for r in out.rows if r["id"] == src)
        out.duplicates.append((src, out.add(f"D{f}", seq, ["Mitochondrion"])))
        start = int(rng.integers(0, len(seq) - 60))
        frag = seq[start : start + 50]
        out.fragments.append((src, out.add(f"G{f}", frag, ["Extracellular"])))
    for s in range(25):
        locs = ["Peroxisome", "Cytoplasm"] if s % 6 == 0 else [common[s % len(common)]]
        out.singletons.append(
            out.add(f"S{s}", random_protein(rng, int(rng.integers(60, 400))), locs)
        )
    return out
