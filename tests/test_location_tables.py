"""The shipped location tables are consistent: a term's path decides its class.

UniProt writes a location as a path from the outer compartment to the inner one
("Cell projection, cilium, ciliary membrane"), so siblings and children of a mapped term must
not silently map to nothing (docs/location_mapping.md); HPA's names that have a UniProt
counterpart must give the same class (docs/hpa_mapping.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from locflow.data.classes import LOCATIONS
from locflow.data.curate import NO_CLASS, load_location_mapping
from locflow.data.hpa import load_mapping as load_hpa_mapping

UNIPROT = load_location_mapping()
HPA = load_hpa_mapping()


def _parts(term: str) -> list[str]:
    return [p.strip() for p in term.split(",")]


def _first(term: str) -> str:
    return _parts(term)[0]


def _starts(*names: str) -> Callable[[str], bool]:
    """The outermost path part is one of `names`, or one of them qualified ('X membrane')."""
    return lambda t: any(_first(t) == n or _first(t).startswith(n + " ") for n in names)


# (rule, class): every term a rule matches maps to its class, unless listed in EXCEPTIONS.
RULES: list[tuple[str, Callable[[str], bool], str]] = [
    ("path names the cell membrane", lambda t: "cell membrane" in t, "Cell membrane"),
    (
        "membrane of a cell projection (plasma membrane)",
        lambda t: _first(t) == "cell projection" and t.endswith("membrane"),
        "Cell membrane",
    ),
    ("under Cytoplasm", lambda t: _first(t) == "cytoplasm", "Cytoplasm"),
    ("under Nucleus or Chromosome", _starts("nucleus", "chromosome"), "Nucleus"),
    ("under Mitochondrion", _starts("mitochondrion"), "Mitochondrion"),
    ("under a plastid", _starts("plastid", "chloroplast"), "Plastid"),
    ("under the ER", _starts("endoplasmic reticulum"), "Endoplasmic reticulum"),
    ("under the Golgi apparatus", _starts("golgi apparatus"), "Golgi apparatus"),
    ("under Peroxisome", _starts("peroxisome"), "Peroxisome"),
    ("under Lysosome or Vacuole", _starts("lysosome", "vacuole"), "Lysosome/Vacuole"),
    ("endosomal system", lambda t: "endosome" in t, "Lysosome/Vacuole"),
    ("under Secreted", lambda t: _first(t) == "secreted", "Extracellular"),
]

# Terms a rule matches that deliberately map elsewhere, with the reason.
EXCEPTIONS: dict[str, tuple[str, str]] = {
    "cytoplasm, sarcoplasmic reticulum": ("Endoplasmic reticulum", "the muscle ER"),
    "nucleus outer membrane, endoplasmic reticulum membrane": (
        "Endoplasmic reticulum",
        "the outer nuclear membrane is continuous with the ER",
    ),
    "cytoplasm, nucleoid": (NO_CLASS, "a prokaryotic nucleoid"),
    "secreted, cell wall, s-layer, periplasm": (NO_CLASS, "a prokaryotic periplasm"),
}


def _is_foreign(term: str) -> bool:
    """Locations in another organism's cell: a virus's host, a toxin's target, a virion."""
    return term.startswith(("host ", "target cell", "virion"))


@pytest.mark.parametrize("name, applies, cls", RULES, ids=[r[0] for r in RULES])
def test_uniprot_term_paths_decide_their_class(name: str, applies, cls: str) -> None:
    matched = [t for t in UNIPROT if not _is_foreign(t) and applies(t)]
    assert matched, f"rule {name!r} matches no term"
    wrong = {t: UNIPROT[t] for t in matched if UNIPROT[t] != EXCEPTIONS.get(t, (cls,))[0]}
    assert wrong == {}, f"{name}: expected {cls}"


def test_exceptions_are_in_the_table() -> None:
    for term, (cls, _why) in EXCEPTIONS.items():
        assert UNIPROT[term] == cls, term


def test_foreign_locations_map_to_no_class() -> None:
    foreign = [t for t in UNIPROT if _is_foreign(t)]
    assert len(foreign) > 50
    assert {UNIPROT[t] for t in foreign} == {NO_CLASS}


def test_cell_membrane_terms_once_unmapped_are_cell_membrane() -> None:
    for term in (
        "cell junction, synapse, postsynaptic cell membrane",
        "cell junction, synapse, presynaptic cell membrane",
        "cell projection, cilium, ciliary membrane",
        "membrane, coated pit",
    ):
        assert UNIPROT[term] == "Cell membrane", term


# HPA location -> the UniProt term naming the same compartment.
HPA_TO_UNIPROT = {
    "nucleoplasm": "nucleus, nucleoplasm",
    "nuclear membrane": "nucleus membrane",
    "nucleoli": "nucleus, nucleolus",
    "nuclear speckles": "nucleus speckle",
    "cytosol": "cytoplasm, cytosol",
    "intermediate filaments": "cytoplasm, cytoskeleton",
    "actin filaments": "cytoplasm, cytoskeleton",
    "microtubules": "cytoplasm, cytoskeleton",
    "centrosome": "cytoplasm, cytoskeleton, microtubule organizing center, centrosome",
    "mitochondria": "mitochondrion",
    "endoplasmic reticulum": "endoplasmic reticulum",
    "golgi apparatus": "golgi apparatus",
    "peroxisomes": "peroxisome",
    "lysosomes": "lysosome",
    "endosomes": "endosome",
    "plasma membrane": "cell membrane",
    "lipid droplets": "lipid droplet",
    "vesicles": "cytoplasmic vesicle",
}


@pytest.mark.parametrize("hpa, uniprot", sorted(HPA_TO_UNIPROT.items()))
def test_hpa_locations_agree_with_uniprot(hpa: str, uniprot: str) -> None:
    assert uniprot in UNIPROT, uniprot
    expected = UNIPROT[uniprot]
    assert HPA[hpa] == (None if expected == NO_CLASS else expected)


def test_hpa_gives_the_eight_classes_it_can() -> None:
    # HPA images human cells: no Extracellular (its secretion column is a prediction), no
    # Plastid. DeepLoc 2.0 scores HPA on six of the eight (locflow.evaluation.metrics).
    from locflow.evaluation.metrics import DEEPLOC2_HPA_CLASSES

    given = {c for c in HPA.values() if c}
    assert given == set(LOCATIONS) - {"Extracellular", "Plastid"}
    assert set(DEEPLOC2_HPA_CLASSES) == given - {"Lysosome/Vacuole", "Peroxisome"}


def test_intermembrane_space_counts_as_membrane_as_in_deeploc() -> None:
    # Deliberate (docs/location_mapping.md, "Membrane flag"): DeepLoc 2.0's data marks soluble
    # intermembrane-space proteins membrane-bound; basement membrane stays extracellular.
    from locflow.data.curate import is_membrane_term
    from locflow.data.uniprot import LocationTerm

    for term in UNIPROT:
        if "intermembrane space" in term and not _is_foreign(term):
            assert is_membrane_term(LocationTerm(term)), term
    assert not is_membrane_term(LocationTerm("Secreted, extracellular matrix, basement membrane"))
    assert not is_membrane_term(LocationTerm("Mitochondrion matrix"))
    # ... and the documentation says so, as a deliberate choice.
    docs = Path(__file__).resolve().parents[1] / "docs" / "location_mapping.md"
    flag = docs.read_text().split("## Membrane flag", 1)[1].split("\n## ", 1)[0]
    assert "intermembrane space" in flag and "Deliberately" in flag
