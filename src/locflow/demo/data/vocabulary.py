"""The demo world's vocabulary: residue composition, organisms, planted categories, terms.

Constants only (and the `Organism` record): which organisms exist, which planted category
means which UniProt location term and which Human Protein Atlas location, which curation
outcomes a removed record can have. Every other module of the package reads these; this one
imports nothing of locflow.
"""

from __future__ import annotations

from dataclasses import dataclass

# UniProtKB/Swiss-Prot amino-acid composition (release statistics, percent).
BACKGROUND: dict[str, float] = {
    "A": 8.25, "R": 5.52, "N": 4.06, "D": 5.46, "C": 1.38, "Q": 3.93, "E": 6.72,
    "G": 7.07, "H": 2.27, "I": 5.91, "L": 9.65, "K": 5.80, "M": 2.41, "F": 3.86,
    "P": 4.74, "S": 6.64, "T": 5.35, "W": 1.10, "Y": 2.92, "V": 6.86,
}  # fmt: skip

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
