"""The writers: UniProt flat-file entries, HPA table rows, the proteome FASTA, truth.tsv.

`entry_text` writes one UniProt entry in the current line formats (parsed by Bio.SwissProt);
`_hpa_rows` the Human Protein Atlas rows; `_proteome` the unlabelled FASTA with the input
quirks predict must handle; `_truth_rows` the planted truth, one row per record.
"""

from __future__ import annotations

import random
import textwrap
from collections import Counter

from Bio.SeqUtils import molecular_weight
from Bio.SeqUtils.CheckSum import crc64

from locflow.data.classes import LOCATIONS
from locflow.demo.data.records import Protein
from locflow.demo.data.vocabulary import HPA_GO, HPA_LOCATIONS, HPA_RELIABILITY, TERM_CLASS
from locflow.demo.data.world import _name, _World

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_SURNAMES = ("Okafor", "Lindqvist", "Tanaka", "Moreau", "Novak", "Haddad", "Silva", "Kowalski")
_INITIALS = "ABCDEFGHJKLMNPRSTW"


def _wrap(first: str, rest: str, text: str, width: int = 80) -> list[str]:
    """Wrap at spaces only (parsers re-join continuation lines with one space)."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _date(rng: random.Random, year_low: int, year_high: int) -> str:
    return f"{rng.randint(1, 28):02d}-{rng.choice(_MONTHS)}-{rng.randint(year_low, year_high)}"


def _keywords(p: Protein) -> list[str]:
    kws = set()
    keys = {f.key for f in p.features}
    notes = {f.note for f in p.features}
    if "SIGNAL" in keys:
        kws.add("Signal")
    if "TRANSIT" in keys:
        kws.add("Transit peptide")
    if "TRANSMEM" in keys:
        kws.update(("Membrane", "Transmembrane", "Transmembrane helix"))
    if any(n and n.startswith("GPI-anchor") for n in notes):
        kws.update(("GPI-anchor", "Lipoprotein", "Membrane"))
    by_class = {
        "Cytoplasm": "Cytoplasm",
        "Nucleus": "Nucleus",
        "Extracellular": "Secreted",
        "Cell membrane": "Cell membrane",
        "Mitochondrion": "Mitochondrion",
        "Plastid": "Chloroplast",
        "Endoplasmic reticulum": "Endoplasmic reticulum",
        "Golgi apparatus": "Golgi apparatus",
        "Peroxisome": "Peroxisome",
    }
    for loc in p.locations:
        cls = TERM_CLASS.get(loc.term)
        if cls in by_class:
            kws.add(by_class[cls])
        if cls == "Plastid":
            kws.add("Plastid")
        if cls == "Lysosome/Vacuole":
            kws.add("Lysosome" if loc.term.startswith("Lysosome") else "Vacuole")
    if p.reviewed:
        kws.add("Reference proteome")
    return sorted(kws)


_FT_ORDER = {
    "SIGNAL": 0,
    "PROPEP": 0,
    "TRANSIT": 0,
    "CHAIN": 0,
    "TOPO_DOM": 1,
    "TRANSMEM": 1,
    "MOTIF": 2,
    "LIPID": 3,
    "NON_TER": 4,
}


def entry_text(p: Protein, world: _World) -> str:
    """One UniProt flat-file entry, `ID` to `//`, in the current (2025) line formats."""
    rng = world.rng
    status = "Reviewed" if p.reviewed else "Unreviewed"
    db = "UniProtKB/Swiss-Prot" if p.reviewed else "UniProtKB/TrEMBL"
    lines = [f"ID   {p.entry_name:<24}{status + ';':<11}{len(p.sequence):>10} AA."]
    lines += _wrap("AC   ", "AC   ", " ".join(f"{a};" for a in [p.accession, *p.secondary]))
    lines.append(f"DT   {_date(rng, 1990, 2012)}, integrated into {db}.")
    lines.append(f"DT   {_date(rng, 2012, 2018)}, sequence version {rng.randint(1, 3)}.")
    lines.append(f"DT   {_date(rng, 2025, 2025)}, entry version {rng.randint(40, 220)}.")
    lines.append(f"DE   {'RecName' if p.reviewed else 'SubName'}: Full={p.name};")
    flags = (["Precursor"] if p.precursor else []) + (["Fragment"] if p.fragment else [])
    if flags:
        lines.append("DE   Flags: " + " ".join(f"{f};" for f in flags))
    gn = f"Name={p.gene};" + (f" OrderedLocusNames={p.locus};" if p.locus else "")
    lines.append(f"GN   {gn}")
    lines += _wrap("OS   ", "OS   ", p.organism.name)
    if p.organelle:
        lines.append(f"OG   {p.organelle}")
    lines += _wrap("OC   ", "OC   ", "; ".join(p.organism.lineage) + ".")
    lines.append(f"OX   NCBI_TaxID={p.organism.taxon_id};")
    pmids = sorted({int(e.split(":")[-1]) for e in _evidences(p) if "PubMed" in e})
    for i, pmid in enumerate(pmids or [world.pubmed()], start=1):
        lines.append(f"RN   [{i}]")
        what = "NUCLEOTIDE SEQUENCE [MRNA]" if i == 1 else "SUBCELLULAR LOCATION"
        lines.append(f"RP   {what}{', AND SUBCELLULAR LOCATION' if i == 1 and pmids else ''}.")
        lines.append(f"RX   PubMed={pmid};")
        lines.append(
            f"RA   {rng.choice(_SURNAMES)} {rng.choice(_INITIALS)}., "
            f"{rng.choice(_SURNAMES)} {rng.choice(_INITIALS)}.;"
        )
        lines.append('RT   "Synthetic reference of the locflow demo data.";')
        lines.append(
            f"RL   Unpublished observations ({rng.choice(_MONTHS)}-{rng.randint(1995, 2024)})."
        )
    if p.locations:
        parts = []
        for loc in p.locations:
            text = loc.term + (f" {{{loc.evidence}}}" if loc.evidence else "")
            if loc.topology:
                text += f"; {loc.topology}" + (f" {{{loc.evidence}}}" if loc.evidence else "")
            parts.append(text + ".")
        lines += _wrap("CC   -!- ", "CC       ", "SUBCELLULAR LOCATION: " + " ".join(parts))
    lines += _wrap(
        "CC   -!- ",
        "CC       ",
        f"MISCELLANEOUS: Synthetic entry generated by "
        f"locflow make-demo-data (seed {world.seed}); not a real protein.",
    )
    if p.ensembl:
        lines.append("DR   Ensembl; " + "; ".join(p.ensembl) + ".")
    if p.organism.code == "ARATH" and p.locus:
        up = p.locus.upper()
        lines.append(f"DR   EnsemblPlants; {up}.1; {up}.1; {up}.")
    lines.append(f"DR   Proteomes; {p.organism.proteome}; Chromosome {rng.randint(1, 19)}.")
    lines.append(
        "PE   1: Evidence at protein level;" if p.reviewed else "PE   3: Inferred from homology;"
    )
    kws = _keywords(p)
    if kws:
        lines += _wrap("KW   ", "KW   ", "; ".join(kws) + ".")
    for f in sorted(p.features, key=lambda f: (_FT_ORDER.get(f.key, 2), f.start, f.end)):
        loc = f.location or (
            str(f.start) if f.start == f.end and f.key != "CHAIN" else f"{f.start}..{f.end}"
        )
        lines.append(f"FT   {f.key:<8}        {loc}")
        note = p.name if f.key == "CHAIN" else f.note
        if note:
            lines.append(f'FT                   /note="{note}"')
        if f.key == "CHAIN" and p.reviewed:
            lines.append(f'FT                   /id="PRO_{rng.randint(1, 999_999):010d}"')
        if f.evidence:
            lines.append(f'FT                   /evidence="{f.evidence}"')
    seq = p.sequence
    mw = round(molecular_weight(seq, seq_type="protein"))
    lines.append(f"SQ   SEQUENCE   {len(seq)} AA;  {mw} MW;  {crc64(seq)[4:]} CRC64;")
    for i in range(0, len(seq), 60):
        chunk = seq[i : i + 60]
        lines.append("     " + " ".join(chunk[j : j + 10] for j in range(0, len(chunk), 10)))
    lines.append("//")
    return "\n".join(lines) + "\n"


def _evidences(p: Protein) -> list[str]:
    out = [loc.evidence for loc in p.locations if loc.evidence]
    out += [f.evidence for f in p.features if f.evidence]
    return [e for e in out if e]


def _hpa_rows(world: _World, humans: list[Protein], extra: int) -> tuple[list[list[str]], Counter]:
    """HPA `subcellular_location.tsv` rows for most human entries, plus genes UniProt lacks."""
    rng = world.rng
    stats: Counter = Counter()
    rows = []
    for p in humans:
        if rng.random() > 0.88 or p.category not in HPA_LOCATIONS:
            stats["human_entries_without_hpa"] += 1
            continue
        main, extracellular = HPA_LOCATIONS[p.category]
        rows.append(_hpa_row(rng, p.ensembl[2].split(".")[0], p.gene, main, extracellular))
        stats["genes_with_uniprot"] += 1
    for _ in range(extra):
        gene = world.unique(lambda: f"ENSG{rng.randint(1, 299_999):011d}")
        cat = rng.choice(list(HPA_LOCATIONS))
        main, extracellular = HPA_LOCATIONS[cat]
        rows.append(_hpa_row(rng, gene, world.gene(), main, extracellular))
        stats["genes_without_uniprot"] += 1
    rows.sort(key=lambda row: row[0])
    for row in rows:
        stats[f"reliability_{row[2]}"] += 1
    return rows, stats


def _hpa_row(
    rng: random.Random, gene: str, name: str, main: tuple[str, ...], extracellular: str
) -> list[str]:
    """One HPA row; Enhanced/Supported locations agree with the planted signals."""
    reliability = rng.choices(HPA_RELIABILITY, weights=(0.2, 0.35, 0.35, 0.1))[0]
    main = tuple(sorted(main))
    additional: tuple[str, ...] = ()
    if reliability == "Uncertain":
        # Uncertain annotations are discordant: the curation must drop them.
        main = (rng.choice(sorted(set(HPA_GO) - set(main))),)
    elif rng.random() < 0.25:
        additional = (rng.choice(sorted(set(HPA_GO) - set(main))),)
    by_level = {r: [] for r in HPA_RELIABILITY}
    by_level[reliability] += main
    # Additional locations are seen with less confidence than the main one.
    by_level["Approved" if reliability != "Uncertain" else "Uncertain"] += additional
    everything = sorted(set(main) | set(additional))
    variation = rng.choice(everything) if rng.random() < 0.08 else ""
    return [
        gene,
        name,
        reliability,
        ";".join(main),
        ";".join(additional),
        extracellular,
        *(";".join(sorted(by_level[r])) for r in HPA_RELIABILITY),
        variation,
        "",
        "",
        ";".join(f"{loc} ({HPA_GO[loc]})" for loc in everything),
    ]


def _tsv(rows: list[list[str]] | list[tuple[str, ...]]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def _proteome(world: _World, n: int) -> tuple[str, list[Protein], Counter]:
    """Unlabelled sequences for the predict demo, plus a few input quirks predict must handle."""
    rng = world.rng
    records, proteins = [], []
    stats: Counter = Counter()
    for i in range(n):
        cat = world.category()
        org = world.organism(cat)
        length = 2400 if i == n // 2 else world.length()  # one long one: clipping in action
        p = world.planted(cat, org, world.res.background(length))
        p.reviewed = False
        _name(world, p)
        p.outcome = "proteome"
        seq = p.sequence
        species = p.organism.name.split(" (")[0].rstrip(".")
        header = (
            f">tr|{p.accession}|{p.entry_name} Uncharacterized protein OS={species} "
            f"OX={p.organism.taxon_id} GN={p.gene} PE=4 SV=1"
        )
        quirk = (
            ("lowercase", "stop_codon", "rare_residues")[i // 7] if i % 7 == 3 and i < 21 else ""
        )
        if quirk == "lowercase":
            seq = seq.lower()
        elif quirk == "stop_codon":
            seq = seq + "*"
        elif quirk == "rare_residues":
            seq = seq[:40] + "U" + seq[41:60] + "X" + seq[61:]
            p.sequence = seq
        if quirk:
            stats[quirk] += 1
        records.append(header + "\n" + _fasta_lines(seq))
        proteins.append(p)
    # One nucleotide record: predict must report it, not drop it.
    dna = "".join(rng.choices("ACGT", k=240))
    records.append(">demo_nucleotide_record accidentally pasted DNA\n" + _fasta_lines(dna))
    stats["not_protein"] += 1
    return "".join(records), proteins, stats


def _fasta_lines(seq: str) -> str:
    return "".join(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))


def _truth_rows(proteins: list[Protein]) -> list[tuple[str, ...]]:
    header = (
        "accession",
        "entry_name",
        "source",
        "organism",
        "kingdom",
        "category",
        "outcome",
        "classes",
        "membrane",
        "signals",
        "family",
        "noise",
        "length",
    )
    rows: list[tuple[str, ...]] = [header]
    for p in proteins:
        kept = p.outcome in ("kept", "proteome")
        planted = p.signals(experimental_only=p.outcome != "proteome") if kept else []
        sigs = ";".join(f"{t}:{s}-{e}" for t, s, e in planted)
        classes = p.classes() if p.outcome == "kept" else []
        membrane = p.membrane() if p.outcome == "kept" else any(loc.topology for loc in p.locations)
        if p.outcome == "proteome":
            classes = sorted({TERM_CLASS[loc.term] for loc in p.locations}, key=LOCATIONS.index)
        rows.append(
            (
                p.accession,
                p.entry_name,
                "proteome" if p.outcome == "proteome" else "uniprot",
                p.organism.code,
                p.organism.kingdom,
                p.category,
                p.outcome,
                ";".join(classes),
                str(int(membrane)),
                sigs,
                str(p.family),
                p.noise,
                str(len(p.sequence)),
            )
        )
    return rows
