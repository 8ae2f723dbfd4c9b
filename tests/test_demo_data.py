"""make-demo-data: a deterministic, parseable demo world whose labels follow planted signals."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from Bio import SeqIO, SwissProt
from Bio.SeqUtils.CheckSum import crc64
from typer.testing import CliRunner

from locflow.cli import app
from locflow.demo.data.make import run_make_demo_data

# Kyte-Doolittle hydropathy, to check that hydrophobic signals really are hydrophobic.
KD = {
    "A": 1.8, "R": -4.5, "N": -3.5, "D": -3.5, "C": 2.5, "Q": -3.5, "E": -3.5, "G": -0.4,
    "H": -3.2, "I": 4.5, "L": 3.8, "K": -3.9, "M": 1.9, "F": 2.8, "P": -1.6, "S": -0.8,
    "T": -0.7, "W": -0.9, "Y": -1.3, "V": 4.2,
}  # fmt: skip
ACCESSION = re.compile(
    r"^(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})$"
)
FILES = ("uniprot_sprot.dat", "subcellular_location.tsv", "proteome.fasta", "truth.tsv")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    return out, run_make_demo_data(out)


@pytest.fixture(scope="module")
def records(demo: tuple[Path, dict]) -> list[SwissProt.Record]:
    with open(demo[0] / "uniprot_sprot.dat") as fh:
        return list(SwissProt.parse(fh))


def _hydropathy(seq: str) -> float:
    return sum(KD[a] for a in seq) / len(seq)


def _max_window(seq: str, width: int = 8) -> float:
    return max(_hydropathy(seq[i : i + width]) for i in range(len(seq) - width + 1))


def _location_comment(rec: SwissProt.Record) -> str:
    return next((c for c in rec.comments if c.startswith("SUBCELLULAR LOCATION:")), "")


def _spans(rec: SwissProt.Record, key: str, note: str = "") -> list[tuple[int, int]]:
    return [
        (int(f.location.start), int(f.location.end))
        for f in rec.features
        if f.type == key and note.lower() in f.qualifiers.get("note", "").lower()
    ]


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first, again, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run_make_demo_data(first, seed=3, proteins=40, proteome=12)
    run_make_demo_data(again, seed=3, proteins=40, proteome=12)
    run_make_demo_data(other, seed=4, proteins=40, proteome=12)
    for name in (*FILES, "manifest.json"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    assert (first / "uniprot_sprot.dat").read_bytes() != (other / "uniprot_sprot.dat").read_bytes()
    assert json.loads((first / "manifest.json").read_text())["seed"] == 3


def test_biopython_parses_every_entry_with_consistent_sequence_lines(
    demo: tuple[Path, dict], records: list[SwissProt.Record]
) -> None:
    _, manifest = demo
    assert len(records) == manifest["uniprot"]["entries"]
    assert (demo[0] / "uniprot_sprot.dat").read_text().count("\n//\n") == len(records)
    accessions = [r.accessions[0] for r in records]
    assert len(set(accessions)) == len(accessions)
    for rec in records:
        assert ACCESSION.match(rec.accessions[0]), rec.accessions[0]
        assert rec.sequence_length == len(rec.sequence) == rec.seqinfo[0]
        assert rec.seqinfo[2] == crc64(rec.sequence)[4:]
        assert set(rec.sequence) <= set(KD), rec.entry_name
        assert rec.entry_name.endswith("_" + rec.entry_name.split("_")[-1])
        for f in rec.features:
            assert 0 <= int(f.location.start) < int(f.location.end) <= len(rec.sequence)


def _fails(rec: SwissProt.Record, unmapped: set[str]) -> list[str]:
    """The curation filters a record fails, judged from the flat file alone."""
    comment = _location_comment(rec)
    items = [i.strip() for i in comment.removeprefix("SUBCELLULAR LOCATION:").split(".")]
    experimental = [i.split("{")[0].split(";")[0].strip() for i in items if "ECO:0000269" in i]
    checks = {
        "unreviewed": rec.data_class != "Reviewed",
        "prokaryotic": rec.organism_classification[0] != "Eukaryota",
        "fragment": "Fragment" in rec.description,
        "organelle_encoded": bool(rec.organelle),
        "too_short": len(rec.sequence) <= 40,
        "no_location": not comment,
        "non_experimental": bool(comment) and not experimental,
        "unmapped_term": bool(experimental) and set(experimental) <= unmapped,
    }
    return [kind for kind, failed in checks.items() if failed]


def test_removed_entries_fail_exactly_one_filter_and_match_the_manifest(
    demo: tuple[Path, dict], records: list[SwissProt.Record]
) -> None:
    _, manifest = demo
    uniprot = manifest["uniprot"]
    unmapped = set(uniprot["unmapped_terms"])
    fails = [_fails(rec, unmapped) for rec in records]
    assert all(len(f) <= 1 for f in fails), [f for f in fails if len(f) > 1]
    counts = Counter(f[0] for f in fails if f)
    assert dict(counts) == {k: v for k, v in uniprot["removed"].items() if v}
    assert all(n >= 3 for n in uniprot["removed"].values())
    assert sum(not f for f in fails) == uniprot["kept"] == manifest["proteins"]
    lengths = [len(r.sequence) for r, f in zip(records, fails, strict=True) if f == ["too_short"]]
    assert 40 in lengths  # the boundary: 40 residues is removed, 41 kept
    assert uniprot["length"]["min"] == 41
    assert sum(uniprot["unmapped_terms"].values()) == uniprot["removed"]["unmapped_term"]


def test_truth_table_agrees_with_manifest_counts(demo: tuple[Path, dict]) -> None:
    out, manifest = demo
    with open(out / "truth.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    kept = [r for r in rows if r["outcome"] == "kept"]
    uniprot = manifest["uniprot"]
    assert len(kept) == uniprot["kept"]
    assert sum(r["source"] == "uniprot" for r in rows) == uniprot["entries"]
    assert sum(r["source"] == "proteome" for r in rows) == manifest["proteome"]["proteins"]
    assert dict(Counter(r["category"] for r in kept)) == uniprot["categories"]
    classes = Counter(c for r in kept for c in r["classes"].split(";"))
    assert {c: classes[c] for c in uniprot["classes"]} == uniprot["classes"]
    signals = Counter(s.split(":")[0] for r in kept for s in r["signals"].split(";") if s)
    assert dict(signals) == uniprot["signals"]
    assert sum(int(r["membrane"]) for r in kept) == uniprot["membrane"]
    # Some planted signals carry only predicted evidence: they must not become signals.
    assert sum(uniprot["signals_non_experimental"].values()) > 10
    # Homolog families with several members, exact duplicates, noise and multi-location.
    families = Counter(r["family"] for r in kept)
    assert max(families.values()) >= 4 and sum(v > 1 for v in families.values()) >= 30
    seqs = Counter(r["length"] + r["signals"] for r in kept if r["noise"] == "duplicate")
    assert uniprot["noise"]["duplicate"] >= 2 and seqs
    assert uniprot["multi_location"] >= 20
    assert set(uniprot["kingdoms"]) == {"Animalia", "Fungi", "Viridiplantae", "Other"}


def test_planted_signals_sit_where_the_feature_lines_say(
    records: list[SwissProt.Record],
) -> None:
    seen: Counter = Counter()
    for rec in records:
        seq = rec.sequence
        for start, end in _spans(rec, "SIGNAL"):
            assert start == 0 and 15 <= end <= 35
            assert _max_window(seq[start:end]) > 2.2, rec.entry_name
            seen["SP"] += 1
        for start, end in _spans(rec, "TRANSMEM"):
            assert 19 <= end - start <= 23 and _hydropathy(seq[start:end]) > 1.5, rec.entry_name
            seen["TM"] += 1
        for start, end in _spans(rec, "TRANSIT", "Mitochondrion"):
            transit = seq[start:end]
            assert start == 0 and not set(transit) & {"D", "E"} and transit.count("R") >= 3
            seen["MT"] += 1
        for start, end in _spans(rec, "TRANSIT", "Chloroplast"):
            transit = seq[start:end]
            assert start == 0 and (transit.count("S") + transit.count("T")) / len(transit) > 0.2
            seen["CH"] += 1
        for start, end in _spans(rec, "MOTIF", "Microbody targeting signal"):
            assert end == len(seq) and end - start == 3
            assert re.fullmatch(r"[SA][KRH]L", seq[start:end]), seq[start:end]
            seen["PTS"] += 1
        for start, end in _spans(rec, "MOTIF", "Prevents secretion from ER"):
            assert end == len(seq) and seq[start:end] in ("KDEL", "HDEL")
            assert _spans(rec, "SIGNAL") or "Fragment" in rec.description, rec.entry_name
            seen["ER"] += 1
        for start, end in _spans(rec, "MOTIF", "nuclear localization signal"):
            motif = seq[start:end]
            assert motif.count("K") + motif.count("R") >= 4
            seen["NLS"] += 1
        for start, end in _spans(rec, "MOTIF", "Nuclear export signal"):
            assert re.fullmatch(r"[LIVFM].{2,3}[LIVFM].{2,3}[LIVFM].[LIVFM]", seq[start:end])
            seen["NES"] += 1
        for start, end in _spans(rec, "PROPEP", "Removed in mature form"):
            (lipid,) = _spans(rec, "LIPID", "GPI-anchor")
            assert end == len(seq) and lipid == (start - 1, start)
            assert _max_window(seq[start:end]) > 2.2
            seen["GPI"] += 1
    assert all(seen[k] >= 10 for k in ("SP", "TM", "MT", "CH", "PTS", "ER", "NLS", "NES", "GPI"))


def test_hpa_table_has_real_columns_and_agrees_with_planted_signals(
    demo: tuple[Path, dict], records: list[SwissProt.Record]
) -> None:
    out, manifest = demo
    with open(out / "subcellular_location.tsv") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    header, rows = rows[0], rows[1:]
    assert header[:6] == ["Gene", "Gene name", "Reliability", "Main location",
                          "Additional location", "Extracellular location"]  # fmt: skip
    assert all(len(r) == len(header) for r in rows)
    assert Counter(r[2] for r in rows) == Counter(manifest["hpa"]["reliability"])
    by_gene = {}
    for rec in records:
        for ref in rec.cross_references:
            if ref[0] == "Ensembl" and rec.data_class == "Reviewed":
                assert rec.organism.startswith(("Homo sapiens", "Mus musculus"))
                by_gene[ref[3].split(".")[0]] = rec
    assert sum(r[0] in by_gene for r in rows) == manifest["hpa"]["genes_with_uniprot"]
    assert sum(r[0] not in by_gene for r in rows) == manifest["hpa"]["genes_without_uniprot"] > 0
    human = [rec for rec in records if rec.taxonomy_id == ["9606"]]
    assert 120 <= sum(any(x[0] == "Ensembl" for x in r.cross_references) for r in human) <= 200
    # Enhanced/Supported locations are what the planted signals say.
    required = {
        "Mitochondria": lambda r: _spans(r, "TRANSIT", "Mitochondrion"),
        "Peroxisomes": lambda r: _spans(r, "MOTIF", "Microbody targeting signal"),
        "Nucleoplasm": lambda r: _spans(r, "MOTIF", "nuclear localization signal"),
        "Endoplasmic reticulum": lambda r: _spans(r, "MOTIF", "Prevents secretion from ER"),
        "Plasma membrane": lambda r: _spans(r, "SIGNAL") and (
            _spans(r, "TRANSMEM") or _spans(r, "LIPID", "GPI-anchor")),
        "Golgi apparatus": lambda r: _spans(r, "TRANSMEM", "Signal-anchor for type II"),
        "Lysosomes": lambda r: _spans(r, "MOTIF", "Lysosomal targeting motif"),
        "Vesicles": lambda r: _spans(r, "SIGNAL"),
    }  # fmt: skip
    checked = 0
    for gene, name, reliability, main, *_ in rows:
        rec = by_gene.get(gene)
        # Fragments and <= 40-residue peptides may have lost their signal peptide.
        whole = rec and "Fragment" not in rec.description and len(rec.sequence) > 40
        if reliability in ("Enhanced", "Supported") and whole:
            assert rec.gene_name[0]["Name"] == name
            for loc in main.split(";"):
                if loc in required:
                    assert required[loc](rec), (gene, loc)
                    checked += 1
    assert checked >= 30


def test_hpa_header_matches_the_real_file(demo: tuple[Path, dict], shared_data: Path) -> None:
    with gzip.open(shared_data / "hpa" / "subcellular_location_v20.tsv.gz", "rt") as fh:
        real = fh.readline().rstrip("\n").split("\t")
    ours = (demo[0] / "subcellular_location.tsv").read_text().splitlines()[0].split("\t")
    assert ours == real


def test_flat_file_follows_the_real_sample_conventions(
    demo: tuple[Path, dict], shared_data: Path
) -> None:
    """Every line type we write also occurs in the real sample, with the same layout."""
    real = (shared_data / "uniprot" / "sample_entries.dat").read_text().splitlines()
    ours = (demo[0] / "uniprot_sprot.dat").read_text().splitlines()
    assert {line[:5] for line in ours} <= {line[:5] for line in real}
    assert max(len(line) for line in ours if not line.startswith("DR ")) <= 80  # DR never wraps
    id_line = re.compile(r"^ID   \S+ +(Reviewed|Unreviewed); +\d+ AA\.$")
    assert all(id_line.match(line) for line in ours if line.startswith("ID "))
    for prefix in ("FT   SIGNAL          1..", "DE   Flags: Fragment;", "OG   Mitochondrion.",
                   "CC   -!- SUBCELLULAR LOCATION: ", "DR   Ensembl; ENST"):  # fmt: skip
        assert any(line.startswith(prefix) for line in ours), prefix


def test_proteome_fasta_has_unlabelled_records_and_input_quirks(demo: tuple[Path, dict]) -> None:
    out, manifest = demo
    records = list(SeqIO.parse(out / "proteome.fasta", "fasta"))
    assert len(records) == manifest["proteome"]["records"] == manifest["proteome"]["proteins"] + 1
    assert len({r.id for r in records}) == len(records)
    seqs = [str(r.seq) for r in records]
    assert any(s.islower() for s in seqs) and any(s.endswith("*") for s in seqs)
    assert any(len(s) > 2000 for s in seqs) and set(seqs[-1]) <= set("ACGT")
    labelled = (out / "uniprot_sprot.dat").read_text()
    assert not any(s.upper().rstrip("*")[:60] in labelled.replace(" ", "") for s in seqs[:20])


def test_cli_writes_the_files_and_rejects_a_tiny_world(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["make-demo-data", "--out", str(tmp_path), "--proteins", "30", "--proteome", "5"]
    )
    assert result.exit_code == 0, result.output
    assert all((tmp_path / name).stat().st_size > 0 for name in (*FILES, "manifest.json"))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["uniprot"]["kept"] == 30 and manifest["proteome"]["proteins"] == 5
    bad = runner.invoke(app, ["make-demo-data", "--out", str(tmp_path / "x"), "--proteins", "3"])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()
