"""HPA curation: the location table, the reliability filter and the join to UniProt entries."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from locflow.cli import app
from locflow.data.classes import LOCATIONS
from locflow.data.hpa import (
    HpaGene,
    curate_hpa,
    human_entries_by_gene,
    infer_release,
    join_uniprot,
    load_mapping,
    read_hpa,
)
from locflow.data.tables import read_proteins
from locflow.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
HEADER = "Gene\tGene name\tReliability\tMain location\tAdditional location\tEnhanced\tSupported\n"


def _hpa_file(shared: Path) -> Path:
    return shared / "hpa" / "subcellular_location_v20.tsv.gz"


def _hpa_rows(shared: Path) -> list[dict[str, str]]:
    with gzip.open(_hpa_file(shared), "rt", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_mapping_table_is_valid_and_documented() -> None:
    mapping = load_mapping()
    assert set(mapping.values()) - {None} <= set(LOCATIONS)
    # Every class HPA can observe by imaging is reachable; Extracellular and Plastid are not.
    assert set(mapping.values()) - {None} == set(LOCATIONS) - {"Extracellular", "Plastid"}
    doc = (ROOT / "docs" / "hpa_mapping.md").read_text()
    with open(ROOT / "src" / "locflow" / "data" / "hpa_locations.tsv") as fh:
        names = [row["hpa_location"] for row in csv.DictReader(fh, delimiter="\t")]
    undocumented = [n for n in names if n not in doc]
    assert not undocumented


def test_every_real_location_value_is_in_the_table(shared_data: Path) -> None:
    mapping = load_mapping()
    values = {
        v.strip()
        for row in _hpa_rows(shared_data)
        for col in (
            "Main location",
            "Additional location",
            "Extracellular location",
            *("Enhanced", "Supported", "Approved", "Uncertain"),
        )
        for v in row[col].split(";")
        if v.strip()
    }
    assert len(values) == 33
    assert sorted(v for v in values if v.lower() not in mapping) == []


def test_real_file_reliability_counts(shared_data: Path) -> None:
    rows = _hpa_rows(shared_data)
    by_level = Counter(r["Reliability"] for r in rows)
    assert by_level == {"Approved": 6263, "Supported": 3976, "Enhanced": 1484, "Uncertain": 667}
    funnel: dict = {}
    genes = read_hpa(_hpa_file(shared_data), funnel=funnel)
    assert funnel["genes_read"] == 12390
    assert funnel["dropped_reliability"] == {"Approved": 6263, "Uncertain": 667}
    kept_by_reliability = 3976 + 1484
    assert len(genes) + funnel["dropped_unmapped_locations"] == kept_by_reliability
    assert {g.reliability for g in genes} == {"Enhanced", "Supported"}
    assert all(g.classes for g in genes)
    assert funnel["ignored_location_values"]["Vesicles"] > 0


def test_named_genes_map_as_checked_by_hand(shared_data: Path) -> None:
    genes = {g.name: g.classes for g in read_hpa(_hpa_file(shared_data))}
    assert genes["VIM"] == ("Cytoplasm",)  # Intermediate filaments
    assert genes["CDH1"] == ("Cell membrane", "Golgi apparatus")  # Cell Junctions;Plasma membrane
    assert genes["FBL"] == ("Nucleus",)  # Nucleoli fibrillar center
    assert genes["GAPDH"] == ("Cytoplasm", "Nucleus", "Cell membrane")  # Vesicles dropped
    assert genes["CANX"] == ("Endoplasmic reticulum",)
    assert genes["PEX14"] == ("Nucleus", "Peroxisome")  # Peroxisomes + Nucleoli fibrillar center
    assert genes["EGFR"] == ("Cell membrane",)  # "Predicted to be secreted" ignored
    assert genes["PCNT"] == ("Cytoplasm",)  # Centrosome
    assert genes["GOLGA2"] == ("Golgi apparatus",)
    assert genes["COX4I1"] == ("Mitochondrion",)
    assert "CAT" not in genes  # catalase: HPA says only "Vesicles", mapped to no class
    assert "TSPAN6" not in genes  # Approved
    strict = {g.name: g.classes for g in read_hpa(_hpa_file(shared_data), per_location=True)}
    assert strict["PEX14"] == ("Peroxisome",)  # the nucleolar signal is only Approved
    assert strict["GAPDH"] == ("Cytoplasm", "Cell membrane")  # nuclear membrane only Approved


def test_join_with_real_human_entries(shared_data: Path) -> None:
    uniprot = [shared_data / "uniprot" / "sample_entries.dat"]
    table, funnel = curate_hpa(_hpa_file(shared_data), uniprot)
    rows = {r["hpa_gene_name"]: r for r in table.to_pylist()}
    assert sorted(rows) == ["DNMT1", "RBFOX3", "SCN1A", "STAT1", "TP53", "TRAF6"]
    assert rows["STAT1"]["id"] == "P42224"
    assert rows["STAT1"]["locations"] == ["Cytoplasm", "Nucleus"]
    assert rows["TRAF6"]["locations"] == ["Nucleus", "Mitochondrion"]
    assert rows["TP53"]["length"] == 393 and rows["TP53"]["hpa_gene"] == "ENSG00000141510"
    assert {r["source"] for r in rows.values()} == {"hpa"}
    assert {r["release"] for r in rows.values()} == {"HPA v20"}
    assert {r["taxon_id"] for r in rows.values()} == {9606}
    assert funnel["uniprot"]["human_reviewed"] == 19
    assert funnel["kept"] == 6
    assert funnel["genes_with_classes"] == (
        funnel["kept"]
        + funnel["dropped_no_uniprot_entry"]
        + funnel["dropped_ambiguous_gene"]
        + funnel["dropped_entry_shared_by_genes"]
    )


def test_ambiguous_gene_and_shared_entry_policies(shared_data: Path) -> None:
    by_gene = human_entries_by_gene([shared_data / "uniprot" / "sample_entries.dat"])
    p53 = by_gene["ENSG00000141510"][0]
    twin = dataclasses.replace(p53, accession="P04637-TWIN")
    by_gene["ENSG00000141510"] = [p53, twin]
    genes = [
        HpaGene("ENSG00000141510", "TP53", "Enhanced", ("Nucleus",)),
        HpaGene("ENSG00000115415", "STAT1", "Enhanced", ("Cytoplasm",)),
        HpaGene("ENSG99999999999", "STAT1-COPY", "Enhanced", ("Nucleus",)),
        HpaGene("ENSG00000000000", "NOPE", "Enhanced", ("Nucleus",)),
    ]
    by_gene["ENSG99999999999"] = by_gene["ENSG00000115415"]
    funnel: dict = {}
    sample = shared_data / "uniprot" / "sample_entries.dat"
    assert human_entries_by_gene([sample, sample], funnel)["ENSG00000141510"] == [p53]
    assert funnel["duplicate_entries"] == 19
    table = join_uniprot(genes, by_gene, release="t", funnel=funnel)
    assert table.num_rows == 0
    assert funnel["dropped_ambiguous_gene"] == 1
    assert funnel["dropped_entry_shared_by_genes"] == 2
    assert funnel["dropped_no_uniprot_entry"] == 1
    table = join_uniprot(genes[:1], by_gene, release="t", ambiguous="all")
    assert table.column("id").to_pylist() == ["P04637", "P04637-TWIN"]


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        ("ENSG1\tA\tEnhanced\tSpindle pole\t\t\t\n", HEADER, "gene ENSG1: HPA location 'Spindle"),
        ("ENSG1\tA\tEnhanced\tCytosol\t\t\t\n" * 2, HEADER, "gene ENSG1 appears twice"),
        (
            "ENSG1\tA\tEnhanced\tCytosol\n",
            "Gene\tGene name\tReliability\tMain location\n",
            "missing \\['Additional location'\\]",
        ),
    ],
)
def test_bad_hpa_file(tmp_path: Path, body: str, header: str, message: str) -> None:
    path = tmp_path / "subcellular_location.tsv"
    path.write_text(header + body)
    with pytest.raises(InputError, match=message):
        read_hpa(path)


def test_small_file_case_insensitive_and_own_mapping(tmp_path: Path) -> None:
    path = tmp_path / "subcellular_location.tsv"
    path.write_text(
        HEADER
        + "ENSG1\tA\tEnhanced\tCell junctions;Vesicles\t\tCell junctions\t\n"
        + "ENSG2\tB\tApproved\tCytosol\t\t\t\n"
        + "ENSG3\tC\tSupported\tVesicles\tLipid droplets\t\tVesicles\n"
    )
    funnel: dict = {}
    genes = read_hpa(path, funnel=funnel)
    assert genes == [HpaGene("ENSG1", "A", "Enhanced", ("Cell membrane",))]
    assert funnel["dropped_unmapped_locations"] == 1
    assert funnel["dropped_reliability"] == {"Approved": 1}
    own = tmp_path / "map.tsv"
    own.write_text(
        "hpa_location\tclass\nCell junctions\tCell membrane\nVesicles\tLysosome/Vacuole\n"
        "Lipid droplets\t\nCytosol\tCytoplasm\n"
    )
    genes = read_hpa(path, mapping=load_mapping(own))
    assert [g.classes for g in genes] == [
        ("Cell membrane", "Lysosome/Vacuole"),
        ("Lysosome/Vacuole",),
    ]
    own.write_text("hpa_location\tclass\nVesicles\tEndosome\n")
    with pytest.raises(InputError, match="unknown class 'Endosome'"):
        load_mapping(own)


def test_infer_release() -> None:
    assert infer_release("subcellular_location_v20.tsv.gz") == "HPA v20"
    assert infer_release("x/hpa_v23.1/subcellular_location.tsv") == ""


def test_cli_curate_hpa(shared_data: Path, tmp_path: Path) -> None:
    out, funnel = tmp_path / "hpa.parquet", tmp_path / "funnel.json"
    args = [
        "curate-hpa",
        "--locations", str(_hpa_file(shared_data)),
        "--uniprot", str(shared_data / "uniprot" / "sample_entries.dat"),
        "--uniprot", str(shared_data / "uniprot" / "sample_entry_O94603.json"),
        "--out", str(out),
        "--funnel", str(funnel),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_proteins(out).num_rows == 6
    counts = json.loads(funnel.read_text())
    assert counts["uniprot"]["entries_read"] == 67
    assert counts["kept"] == 6
