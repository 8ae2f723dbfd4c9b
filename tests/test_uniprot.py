"""UniProt parsing: flat text and REST JSON, location-comment conventions, bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from locflow.data.uniprot import parse_location_comment, read_entries
from locflow.errors import InputError

SEQ = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"

# A minimal but complete flat-text record; {cc} and {ft} are filled in by the tests.
RECORD = """\
ID   TEST1_HUMAN             Reviewed;          {n} AA.
AC   Q99991; Q99992;
DT   01-JAN-2020, integrated into UniProtKB/Swiss-Prot.
DT   01-JAN-2020, sequence version 1.
DT   01-JAN-2024, entry version 7.
DE   RecName: Full=Test protein;
GN   Name=TST1;
OS   Homo sapiens (Human).
{og}OC   Eukaryota; Metazoa; Chordata; Craniata; Vertebrata; Euteleostomi;
OC   Mammalia; Eutheria; Euarchontoglires; Primates; Haplorrhini;
OC   Catarrhini; Hominidae; Homo.
OX   NCBI_TaxID=9606;
{cc}DR   Ensembl; ENST00000000001.2; ENSP00000000001.2; ENSG00000000001.3.
{ft}SQ   SEQUENCE   {n} AA;  7000 MW;  0000000000000000 CRC64;
     {seq}
//
"""


def flat_record(cc: str = "", ft: str = "", og: str = "", seq: str = SEQ) -> str:
    """One flat-text record with the given CC, FT and OG lines."""
    return RECORD.format(n=len(seq), cc=cc, ft=ft, og=og, seq=seq)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_entries_parse(shared_data: Path) -> None:
    entries = list(read_entries(shared_data / "uniprot" / "sample_entries.dat"))
    assert len(entries) == 66
    assert sum(e.reviewed for e in entries) == 56
    assert sum("Eukaryota" in e.lineage for e in entries) == 53
    assert sum(e.location_comments > 0 for e in entries) == 44
    # The data README counts 25 comments citing ECO:0000269; in CF418_HUMAN (Q96NL8) only the
    # note does, so 24 entries have a location term with experimental evidence.
    with_exp = {e.accession for e in entries if any(t.experimental for t in e.locations)}
    assert len(with_exp) == 24 and "Q96NL8" not in with_exp
    by_acc = {e.accession: e for e in entries}
    p53 = by_acc["P04637"]
    assert p53.entry_name == "P53_HUMAN" and p53.taxon_id == 9606
    assert p53.canonical_isoform == "Isoform 1"
    assert p53.ensembl_genes == ["ENSG00000141510"]
    assert p53.gene_names == ["TP53"]
    assert len(p53.sequence) == 393
    assert by_acc["P29032"].fragment  # CHIC_POPTR: "Flags: Precursor; Fragment;"
    assert by_acc["P00392"].organelle == "Plasmid pVS1"
    # Wrapped "Single-\npass" is one word again; the topology is split from the location.
    fgrl1 = by_acc["Q8N441"].locations
    assert [(t.location, t.topology) for t in fgrl1] == [
        ("Membrane", "Single-pass type I membrane protein")
    ]


def test_json_entry_matches_flat_text(shared_data: Path) -> None:
    (entry,) = read_entries(shared_data / "uniprot" / "sample_entry_O94603.json")
    flat = next(
        e
        for e in read_entries(shared_data / "uniprot" / "sample_entries.dat")
        if e.accession == "O94603"
    )
    assert entry.reviewed and entry.entry_name == "JHD1_SCHPO"
    assert entry.sequence == flat.sequence and entry.lineage == flat.lineage
    assert entry.taxon_id == 284812 and entry.entry_version == 148
    assert [(t.location, t.evidence) for t in entry.locations] == [("Nucleus", ("ECO:0000269",))]
    assert [(t.location, t.evidence) for t in flat.locations] == [("Nucleus", ("ECO:0000269",))]
    domain = next(f for f in entry.features if f.type == "DOMAIN")
    assert (domain.start, domain.end) == (242, 402)  # 1-based 243..402 -> half-open


def test_location_comment_conventions() -> None:
    terms = parse_location_comment(
        "SUBCELLULAR LOCATION: Cytoplasm, cytoskeleton, spindle {ECO:0000269|PubMed:1, "
        "ECO:0000250|UniProtKB:P1}. Mitochondrion inner membrane {ECO:0000305}; Single-pass "
        "membrane protein {ECO:0000269|PubMed:2}; Matrix side {ECO:0000305}. Nucleus. "
        "Note=Moves to the nucleus. Cytoplasm in some cells. {ECO:0000269|PubMed:3}."
    )
    assert [t.location for t in terms] == [
        "Cytoplasm, cytoskeleton, spindle",
        "Mitochondrion inner membrane",
        "Nucleus",
    ]
    assert terms[0].experimental
    # Topology evidence is not location evidence, and the note's evidence is the note's own.
    assert not terms[1].experimental and terms[1].topology == "Single-pass membrane protein"
    assert terms[1].orientation == "Matrix side"
    assert terms[2].evidence == ()


def test_comment_level_evidence_applies_to_bare_terms() -> None:
    terms = parse_location_comment(
        "[Isoform 2]: Cytoplasm. Nucleus {ECO:0000305}. {ECO:0000269|PubMed:7}."
    )
    assert [(t.location, t.evidence, t.isoform) for t in terms] == [
        ("Cytoplasm", ("ECO:0000269",), "Isoform 2"),
        ("Nucleus", ("ECO:0000305",), "Isoform 2"),
    ]


def test_flat_features_and_fuzzy_positions(tmp_path: Path) -> None:
    ft = (
        "FT   TRANSIT         1..20\n"
        'FT                   /note="Mitochondrion"\n'
        'FT                   /evidence="ECO:0000269|PubMed:1"\n'
        "FT   SIGNAL          ?..15\n"
        'FT                   /evidence="ECO:0000269|PubMed:1"\n'
        "FT   CHAIN           21..>66\n"
        'FT                   /note="Test protein"\n'
    )
    path = write(tmp_path, "one.dat", flat_record(ft=ft))
    (entry,) = read_entries(path)
    transit, signal, chain = entry.features
    assert (transit.type, transit.start, transit.end, transit.note) == (
        "TRANSIT",
        0,
        20,
        "Mitochondrion",
    )
    assert transit.experimental and not transit.uncertain
    assert signal.uncertain and chain.uncertain
    assert entry.accession == "Q99991" and entry.ensembl_genes == ["ENSG00000000001"]


def test_gzipped_flat_text_and_json_pages(tmp_path: Path, shared_data: Path) -> None:
    text = (shared_data / "uniprot" / "sample_entries.dat").read_bytes()
    gz = tmp_path / "entries.dat.gz"
    gz.write_bytes(gzip.compress(text))
    assert sum(1 for _ in read_entries(gz)) == 66
    entry = json.loads((shared_data / "uniprot" / "sample_entry_O94603.json").read_text())
    page = write(tmp_path, "page.json", json.dumps({"results": [entry, entry]}))
    assert [e.accession for e in read_entries(page)] == ["O94603", "O94603"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.dat", "", "file is empty"),
        ("blank.dat", "\n\n  \n", "file is empty"),
        ("seqs.fasta", ">sp|P1|X\nMKV\n", "looks like FASTA"),
        ("notes.txt", "hello world\nthis is not UniProt\n", "not UniProt flat text or JSON"),
        ("other.json", '{"name": "x", "items": []}', "not a UniProt entry"),
        ("broken.json", '{"primaryAccession": "P1", ', "invalid JSON"),
        ("noseq.json", '{"primaryAccession": "P12345", "entryType": "Inactive"}', "P12345"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as err:
        list(read_entries(path))
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_corrupt_and_truncated_gzip(tmp_path: Path, shared_data: Path) -> None:
    data = gzip.compress((shared_data / "uniprot" / "sample_entries.dat").read_bytes())
    truncated = tmp_path / "cut.dat.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="gzip"):
        list(read_entries(truncated))
    garbage = tmp_path / "garbage.dat.gz"
    garbage.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(InputError, match="gzip"):
        list(read_entries(garbage))


def test_malformed_records_are_kept_when_asked(tmp_path: Path) -> None:
    good = flat_record(cc="CC   -!- SUBCELLULAR LOCATION: Nucleus {ECO:0000269|PubMed:1}.\n")
    no_seq = flat_record(seq="").replace("\n     \n", "\n")
    truncated = flat_record().replace("Q99991", "Q99993").rsplit("//", 1)[0]
    path = write(tmp_path, "mixed.dat", good + no_seq + truncated)
    with pytest.raises(InputError, match=r"mixed\.dat: record Q99991: no sequence"):
        list(read_entries(path))
    entries = list(read_entries(path, keep_malformed=True))
    assert [(e.accession, e.problem) for e in entries] == [
        ("Q99991", None),
        ("Q99991", "no sequence"),
        ("Q99993", "record is truncated (no closing '//')"),
    ]
