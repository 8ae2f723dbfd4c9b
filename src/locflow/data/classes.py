"""The label vocabulary shared by every step: 10 locations, the membrane flag, 9 signal types."""

LOCATIONS: tuple[str, ...] = (
    "Cytoplasm",
    "Nucleus",
    "Extracellular",
    "Cell membrane",
    "Mitochondrion",
    "Plastid",
    "Endoplasmic reticulum",
    "Lysosome/Vacuole",
    "Golgi apparatus",
    "Peroxisome",
)

MEMBRANE = "Membrane"

# SP signal peptide, TM first transmembrane segment, MT/CH/TH mitochondrial, chloroplast and
# thylakoid transit peptides, NLS/NES nuclear localization/export, PTS peroxisomal targeting,
# GPI GPI-anchor propeptide.
SIGNALS: tuple[str, ...] = ("SP", "TM", "MT", "CH", "TH", "NLS", "NES", "PTS", "GPI")

KINGDOMS: tuple[str, ...] = ("Animalia", "Fungi", "Viridiplantae", "Other")

OUTPUTS: tuple[str, ...] = (*LOCATIONS, MEMBRANE)
"""The 11 model outputs in order: the 10 location classes, then the membrane-bound flag."""

PROBABILITY_COLUMNS: tuple[str, ...] = OUTPUTS
"""Float columns of the 11 model outputs in a predictions table (predict, evaluate, score)."""

SIGNAL_COLUMNS: tuple[str, ...] = SIGNALS
"""Float columns of the 9 signal-type probabilities in a predictions table."""


def check_locations(names: list[str]) -> list[str]:
    """Return names in canonical class order; raise ValueError on an unknown class name."""
    unknown = sorted(set(names) - set(LOCATIONS))
    if unknown:
        raise ValueError(f"unknown location class(es): {', '.join(unknown)}")
    return [c for c in LOCATIONS if c in set(names)]
