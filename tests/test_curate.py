"""SwissProt curation: per-entry outcomes on real entries, funnel, signals, mapping table, CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_uniprot import SEQ, flat_record, write

from locflow.data.classes import LOCATIONS
from locflow.data.curate import (
    FILTERS,
    curate_entry,
    curate_swissprot,
    extract_signals,
    load_location_mapping,
    mapping_path,
    run_curate_swissprot,
)
from locflow.data.tables import read_proteins
from locflow.data.uniprot import Feature, LocationTerm, UniProtEntry, read_entries
from locflow.errors import InputError

C, N, EX, CM, MT, ER, LV, G, PX = (
    "Cytoplasm",
    "Nucleus",
    "Extracellular",
    "Cell membrane",
    "Mitochondrion",
    "Endoplasmic reticulum",
    "Lysosome/Vacuole",
    "Golgi apparatus",
    "Peroxisome",
)

# Expected outcome of every entry in ../shared/data/uniprot/sample_entries.dat, read off the
# entries by hand: the removing filter, or (locations, membrane, signals) of the kept row.
EXPECTED: dict[str, str | tuple[list[str], bool, list[tuple[str, int, int]]]] = {
    "F0JBF0": "not_reviewed",
    "F0JBF1": "not_reviewed",
    "A0A1S7IWC7": "not_reviewed",
    "Q06848": "not_eukaryote",  # ANCA_ACET2, bacterium
    "P28891": ([EX], False, []),  # VM1F_AGKCO: Secreted {ECO:0000269}
    "Q7Q3J5": "no_experimental_location",  # Secreted {ECO:0000305}
    "Q9XIR4": "no_experimental_location",  # Plastid, chloroplast (no evidence)
    "P09570": "not_eukaryote",
    "H9C180": "not_eukaryote",  # phage
    "H9C181": "not_eukaryote",
    "A0B297": "not_eukaryote",
    "Q5AMS2": "not_reviewed",
    "Q94ET8": "not_reviewed",
    "Q563W7": "not_reviewed",
    "P62694": ([EX], False, [("SP", 0, 17)]),  # GUX1_HYPJE: SIGNAL 1..17 {ECO:0000269}
    "A0A0B4FWC3": "no_location_comment",
    "A0A0B4F5S2": "no_experimental_location",  # Cell surface {ECO:0000250}
    "A0A0B4ESU9": "no_location_comment",
    "Q07341": "not_eukaryote",
    "P15802": ([PX], False, []),  # AATA_PENCH: Peroxisome matrix
    "P31867": "no_location_comment",
    "P29032": "fragment",  # CHIC_POPTR
    "P00392": "not_eukaryote",  # plasmid-encoded, but a bacterium first
    "A0A1V0M5B3": "not_reviewed",
    "Q88JH0": "not_eukaryote",
    "A0A2Z5TSL2": "not_reviewed",
    "Q28CC8": "not_reviewed",
    "Q9VB70": "no_location_comment",
    # DSCA1_DROME: Cell membrane is only ECO:0000305; the experimental neuron terms have no
    # class, so Secreted alone remains.
    "Q0E9H9": ([EX], False, []),
    "Q9U969": ([ER], True, []),  # SWS_DROME: ER membrane; Single-pass type I
    "Q32NC0": "no_location_comment",
    "Q9UQM7": "no_mapped_location",  # KCC2A: only dendrite / dendritic spine are experimental
    "Q9BRQ4": "no_experimental_location",
    "Q96NL8": "no_experimental_location",  # CF418: ECO:0000269 only on the note
    # CFTR: apical/cell membrane, early endosome membrane, ER membrane; first TM 78..98
    "P13569": ([CM, ER, LV], True, [("TM", 77, 98)]),
    "Q8WWK9": "no_experimental_location",  # CKAP2: no evidence at all
    "Q15392": ([ER, G], True, []),  # DHC24
    "P26358": ([N], False, []),  # DNMT1
    "P21128": "no_experimental_location",  # ENDOU: Secreted {ECO:0000305}
    "Q8N441": "no_mapped_location",  # FGRL1: 'Membrane' has no class
    "Q9ULD6": ([C], False, []),  # INTU: cilium basal body (cytoskeleton)
    "P23458": "no_experimental_location",  # JAK1
    "A6NFN3": ([C, N], False, []),  # RFOX3
    "P35498": ([CM], True, []),  # SCN1A
    "Q587I9": "no_experimental_location",  # SFT2C: ECO:0000255
    "P42224": ([C, N], False, []),  # STAT1
    "P04637": ([C, N, MT, ER], False, []),  # P53: PML body, mitochondrion matrix, ER
    "Q9Y4K3": ([C, N], False, []),  # TRAF6: lipid droplet is only ECO:0000250
    "P41226": ([C, N], False, []),  # UBA7
    "Q02248": ([C, N, CM], True, []),  # CTNB1_MOUSE: junction/synapse terms have no class
    "P09925": ([MT], True, []),  # SURF1_MOUSE: Mitochondrion membrane
    "O94603": ([N], False, []),  # JHD1_SCHPO
    "Q9Y6Z9": "no_location_comment",
    "O74447": "no_location_comment",
    "Q92340": ([CM, LV], True, []),  # SHU1_SCHPO: cell and vacuole membrane, GPI-anchor
    "Q9HDX8": "no_experimental_location",
    "O43026": "no_experimental_location",
    "G2TRQ9": "no_location_comment",
    "O42644": "no_location_comment",
    "Q09137": "no_experimental_location",
    "Q03336": "no_experimental_location",  # RGN_RAT: Cytoplasm (no evidence)
    "Q22179": "not_reviewed",
    "Q21190": "no_mapped_location",  # UNC1_CAEEL: gap junction only
    "Q08448": "no_mapped_location",  # LPL1_YEAST: lipid droplet only
    "P32633": "no_experimental_location",
    "Q04958": ([ER], True, []),  # NTE1_YEAST: ER membrane (+ lipid droplet, no class)
}


@pytest.fixture(scope="module")
def mapping() -> dict[str, str]:
    return load_location_mapping()


def test_every_sample_entry_is_curated_as_expected(
    shared_data: Path, mapping: dict[str, str]
) -> None:
    entries = list(read_entries(shared_data / "uniprot" / "sample_entries.dat"))
    assert sorted(e.accession for e in entries) == sorted(EXPECTED)
    for entry in entries:
        result = curate_entry(entry, mapping, release="2025_03")
        expected = EXPECTED[entry.accession]
        if isinstance(expected, str):
            assert result.removed_by == expected, entry.accession
            assert result.row is None
            continue
        assert result.removed_by is None, (entry.accession, result.removed_by)
        locations, membrane, signals = expected
        row = result.row
        assert row is not None
        assert row["locations"] == locations, entry.accession
        assert row["membrane"] is membrane, entry.accession
        assert [(s["type"], s["start"], s["end"]) for s in row["signals"]] == signals
        assert row["source"] == "swissprot" and row["release"] == "2025_03"
        assert result.unknown_terms == [], entry.accession


def test_json_entry_is_curated_like_flat_text(shared_data: Path, mapping: dict[str, str]) -> None:
    (entry,) = read_entries(shared_data / "uniprot" / "sample_entry_O94603.json")
    result = curate_entry(entry, mapping)
    assert result.row is not None
    assert result.row["locations"] == [N] and result.row["kingdom"] == "Fungi"
    assert result.row["taxon_id"] == 284812


def test_funnel_adds_up(shared_data: Path, tmp_path: Path) -> None:
    inputs = [
        shared_data / "uniprot" / "sample_entries.dat",
        shared_data / "uniprot" / "sample_entry_O94603.json",
    ]
    out = tmp_path / "proteins.parquet"
    funnel = run_curate_swissprot(
        inputs, out, funnel_path=tmp_path / "funnel.json", release="2025_03"
    )
    assert funnel == json.loads((tmp_path / "funnel.json").read_text())
    assert funnel["input_records"] == 67
    assert [step["filter"] for step in funnel["filters"]] == [key for key, _ in FILTERS]
    removed = {step["filter"]: step["removed"] for step in funnel["filters"]}
    assert removed["duplicate"] == 1  # O94603 is in both inputs
    for key in set(removed) - {"duplicate", "malformed"}:
        assert removed[key] == sum(v == key for v in EXPECTED.values()), key
    assert funnel["removed"] == sum(removed.values())
    assert funnel["kept"] + funnel["removed"] == funnel["input_records"]
    assert funnel["filters"][-1]["left"] == funnel["kept"] == 20
    table = read_proteins(out)
    assert table.num_rows == 20
    assert set(table.column("release").to_pylist()) == {"2025_03"}
    counts = {
        c: sum(c in locs for locs in table.column("locations").to_pylist()) for c in LOCATIONS
    }
    assert funnel["classes"] == counts
    assert funnel["signals"]["SP"] == 1 and funnel["signals"]["TM"] == 1
    assert funnel["unknown_location_terms"] == {}
    assert funnel["unmapped_location_terms"]["Lipid droplet"] == 2


def test_unknown_terms_are_counted_not_dropped(tmp_path: Path, mapping: dict[str, str]) -> None:
    cc = (
        "CC   -!- SUBCELLULAR LOCATION: Nucleus {ECO:0000269|PubMed:1}. Blorb organelle\n"
        "CC       {ECO:0000269|PubMed:2}.\n"
    )
    only_unknown = flat_record(
        cc="CC   -!- SUBCELLULAR LOCATION: Blorb organelle {ECO:0000269|PubMed:2}.\n"
    ).replace("Q99991", "Q99994")
    path = write(tmp_path, "x.dat", flat_record(cc=cc) + only_unknown)
    rows, funnel = curate_swissprot([path], mapping=mapping)
    assert [r["id"] for r in rows] == ["Q99991"] and rows[0]["locations"] == [N]
    assert funnel["unknown_location_terms"] == {"Blorb organelle": 2}
    assert funnel["filters"][-1]["removed"] == 1


def test_length_organelle_and_malformed_filters(tmp_path: Path) -> None:
    cc = "CC   -!- SUBCELLULAR LOCATION: Nucleus {ECO:0000269|PubMed:1}.\n"
    records = [
        flat_record(cc=cc, seq=SEQ[:40]),  # 40 residues: too short
        flat_record(cc=cc, seq=SEQ[:41]).replace("Q99991", "Q99995"),  # 41: kept
        flat_record(cc=cc, og="OG   Mitochondrion.\n").replace("Q99991", "Q99996"),
        flat_record(cc=cc, seq="").replace("Q99991", "Q99997").replace("\n     \n", "\n"),
    ]
    path = write(tmp_path, "filters.dat", "".join(records))
    rows, funnel = curate_swissprot([path], release="R")
    removed = {step["filter"]: step["removed"] for step in funnel["filters"]}
    assert removed["too_short"] == 1 and removed["organelle_encoded"] == 1
    assert removed["malformed"] == 1
    assert funnel["malformed_records"] == ["filters.dat: Q99997: no sequence"]
    assert [(r["id"], r["length"]) for r in rows] == [("Q99995", 41)]


def test_canonical_isoform_terms_apply_others_do_not(mapping: dict[str, str]) -> None:
    entry = UniProtEntry(
        "P1",
        reviewed=True,
        sequence=SEQ,
        lineage=["Eukaryota", "Fungi"],
        location_comments=2,
        canonical_isoform="Isoform 1",
        locations=[
            LocationTerm("Nucleus", ("ECO:0000269",), isoform="Isoform 1"),
            LocationTerm("Mitochondrion", ("ECO:0000269",), isoform="Isoform 2"),
        ],
    )
    result = curate_entry(entry, mapping)
    assert result.row is not None and result.row["locations"] == [N]
    entry.canonical_isoform = "Isoform 2"
    assert curate_entry(entry, mapping).row["locations"] == [MT]  # type: ignore[index]


def _entry(*features: Feature) -> UniProtEntry:
    return UniProtEntry("P2", reviewed=True, sequence=SEQ, features=list(features))


EXP = ("ECO:0000269",)


def test_signal_rules() -> None:
    entry = _entry(
        Feature("SIGNAL", 0, 20, "", EXP),
        Feature("TRANSIT", 0, 12, "Mitochondrion", EXP),
        Feature("TRANSIT", 12, 25, "Chloroplast", EXP),
        Feature("TRANSIT", 25, 30, "Thylakoid", EXP),
        Feature("TRANSIT", 30, 33, "Peroxisome", EXP),  # no signal type for this target
        Feature("TRANSMEM", 40, 50, "Helical", ("ECO:0000255",)),  # first TM: not experimental
        Feature("TRANSMEM", 52, 60, "Helical", EXP),
        Feature("MOTIF", 30, 36, "Nuclear localization signal", EXP),
        Feature("MOTIF", 36, 44, "Nuclear export signal", ("ECO:0000250",)),
        Feature("MOTIF", 63, 66, "Microbody targeting signal", EXP),
        Feature("MOTIF", 10, 14, "PDZ-binding", EXP),
        Feature("LIPID", 59, 60, "GPI-anchor amidated serine", ("ECO:0000255",)),
        Feature("PROPEP", 60, 66, "Removed in mature form", EXP),
        Feature("MOTIF", 44, 50, "Bipartite nuclear localization signal", EXP),
        Feature("SIGNAL", None, 15, "", EXP),
    )
    signals, skipped = extract_signals(entry)
    assert [(s["type"], s["start"], s["end"]) for s in signals] == [
        ("SP", 0, 20),
        ("MT", 0, 12),
        ("CH", 12, 25),
        ("TH", 25, 30),
        ("NLS", 30, 36),
        ("PTS", 63, 66),
        ("NLS", 44, 50),
        ("GPI", 60, 66),
    ]
    assert skipped == {"SP: uncertain position": 1, "transit peptide to Peroxisome": 1}


def test_gpi_needs_an_experimental_propeptide_after_a_gpi_site() -> None:
    site = Feature("LIPID", 59, 60, "GPI-anchor amidated serine", EXP)
    assert extract_signals(_entry(site, Feature("PROPEP", 60, 66, "", ("ECO:0000255",))))[0] == []
    assert extract_signals(_entry(site, Feature("PROPEP", 61, 66, "", EXP)))[0] == []
    assert extract_signals(_entry(Feature("PROPEP", 60, 66, "", EXP)))[0] == []


def test_first_transmembrane_and_out_of_range() -> None:
    signals, skipped = extract_signals(
        _entry(
            Feature("TRANSMEM", 52, 60, "", EXP),
            Feature("TRANSMEM", 5, 25, "", EXP),
            Feature("SIGNAL", 0, 99, "", EXP),
        )
    )
    assert [(s["type"], s["start"]) for s in signals] == [("TM", 5)]
    assert skipped == {"SP: outside the sequence": 1}


def test_mapping_table_is_complete_and_valid(shared_data: Path, mapping: dict[str, str]) -> None:
    assert len(mapping) > 550
    assert set(mapping.values()) <= set(LOCATIONS) | {"-"}
    assert set(LOCATIONS) <= set(mapping.values())  # every class is reachable
    for term, cls in {
        "secreted": EX,
        "cell membrane": CM,
        "mitochondrion inner membrane": MT,
        "plastid, chloroplast thylakoid membrane": "Plastid",
        "lysosome": LV,
        "vacuole": LV,
        "endoplasmic reticulum lumen": ER,
        "golgi apparatus, trans-golgi network": G,
        "peroxisome matrix": PX,
        "nucleus, nucleolus": N,
        "cytoplasm, cytoskeleton": C,
        "membrane": "-",
        "host cell membrane": "-",
    }.items():
        assert mapping[term] == cls, term
    # every term seen in the real data is in the table
    entries = list(read_entries(shared_data / "uniprot" / "sample_entries.dat"))
    seen = {t.location.lower() for e in entries for t in e.locations}
    assert seen - set(mapping) == set()


def test_bad_mapping_table_is_an_input_error(tmp_path: Path) -> None:
    bad = write(tmp_path, "m.tsv", "term\tclass\nNucleus\tNucleolus\n")
    with pytest.raises(InputError, match="unknown class 'Nucleolus'"):
        load_location_mapping(bad)
    assert mapping_path().is_file()


def test_release_from_fetch_json(tmp_path: Path) -> None:
    cc = "CC   -!- SUBCELLULAR LOCATION: Nucleus {ECO:0000269|PubMed:1}.\n"
    path = write(tmp_path, "uniprot.dat", flat_record(cc=cc))
    write(tmp_path, "fetch.json", json.dumps({"release": "2024_06", "entries": 1}))
    rows, funnel = curate_swissprot([path])
    assert rows[0]["release"] == "2024_06" and funnel["release"] == "2024_06"


def test_cli_writes_table_and_reports_bad_input(tmp_path: Path) -> None:
    cc = "CC   -!- SUBCELLULAR LOCATION: Nucleus {ECO:0000269|PubMed:1}.\n"
    good = write(tmp_path, "in.dat", flat_record(cc=cc))
    out = tmp_path / "out" / "proteins.parquet"
    cmd = [sys.executable, "-m", "locflow.cli", "curate-swissprot"]
    ok = subprocess.run(
        [*cmd, str(good), "--out", str(out), "--release", "R1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "kept 1 of 1" in ok.stderr
    assert read_proteins(out).column("id").to_pylist() == ["Q99991"]
    assert json.loads((out.parent / "proteins.funnel.json").read_text())["kept"] == 1
    fasta = write(tmp_path, "in.fasta", ">x\nMKV\n")
    bad = subprocess.run(
        [*cmd, str(fasta), "--out", str(tmp_path / "b.parquet")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "looks like FASTA" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "b.parquet").exists()


def test_demo_data_funnel_matches_its_manifest(tmp_path: Path) -> None:
    demo = pytest.importorskip("locflow.demo.data.make")
    start = time.perf_counter()
    manifest = demo.run_make_demo_data(tmp_path / "demo")["uniprot"]
    out = tmp_path / "proteins.parquet"
    funnel = run_curate_swissprot([tmp_path / "demo" / "uniprot_sprot.dat"], out, release="demo")
    assert time.perf_counter() - start < 30  # seconds, on 2 shared cores
    removed = {step["filter"]: step["removed"] for step in funnel["filters"]}
    # the generator's names for the same filters
    names = {
        "unreviewed": "not_reviewed",
        "prokaryotic": "not_eukaryote",
        "fragment": "fragment",
        "organelle_encoded": "organelle_encoded",
        "too_short": "too_short",
        "no_location": "no_location_comment",
        "non_experimental": "no_experimental_location",
        "unmapped_term": "no_mapped_location",
    }
    assert set(names) == set(manifest["removed"])
    for theirs, ours in names.items():
        assert removed[ours] == manifest["removed"][theirs], theirs
    assert funnel["input_records"] == manifest["entries"]
    assert funnel["kept"] == manifest["kept"]
    assert funnel["classes"] == manifest["classes"]
    assert funnel["kingdoms"] == manifest["kingdoms"]
    assert {k: v for k, v in funnel["signals"].items() if v} == manifest["signals"]
    assert funnel["unmapped_location_terms"] == manifest["unmapped_terms"]
    assert funnel["unknown_location_terms"] == {}
    # and record by record: classes and signal spans as planted (truth.tsv)
    rows = {r["id"]: r for r in read_proteins(out).to_pylist()}
    with open(tmp_path / "demo" / "truth.tsv", encoding="utf-8") as fh:
        truth = [r for r in csv.DictReader(fh, delimiter="\t") if r["source"] == "uniprot"]
    for record in truth:
        assert (record["accession"] in rows) == (record["outcome"] == "kept"), record
        if record["outcome"] == "kept":
            row = rows[record["accession"]]
            assert set(row["locations"]) == set(record["classes"].split(";")), record
            spans = ";".join(f"{s['type']}:{s['start']}-{s['end']}" for s in row["signals"])
            assert spans == record["signals"], record
