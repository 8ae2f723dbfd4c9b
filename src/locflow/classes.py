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


def check_locations(names: list[str]) -> list[str]:
    """Return names in canonical class order; raise ValueError on an unknown class name."""
    unknown = sorted(set(names) - set(LOCATIONS))
    if unknown:
        raise ValueError(f"unknown location class(es): {', '.join(unknown)}")
    return [c for c in LOCATIONS if c in set(names)]
