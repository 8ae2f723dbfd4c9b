"""A seeded demo world: a UniProt flat file, an HPA table and a FASTA, with planted sorting signals.

Every labelled location here is *caused* by a sorting signal planted in the sequence (signal
peptide, transit peptide, NLS/NES, PTS1, KDEL/HDEL, GPI propeptide, signal anchor...), so a
model trained on the demo data can learn the signals and its attention can be checked against
the annotated spans. Around the labelled proteins sit the records every curation filter must
remove. Each removed record fails exactly ONE filter, so a curation funnel can be checked count
by count against `manifest.json`, whatever order its filters run in.

Files written into the output folder (each atomically, the manifest last):
  uniprot_sprot.dat         UniProt flat text, parsed by Bio.SwissProt; includes the human
                            entries with `DR   Ensembl` lines that the HPA table refers to
  subcellular_location.tsv  Human Protein Atlas table (v20-era columns)
  proteome.fasta            unlabelled sequences for the predict demo (UniProt-style headers)
  truth.tsv                 one row per record: planted category, expected curation outcome,
                            classes, membrane flag and experimental signal spans (0-based)
  manifest.json             seed and counts of every planted category and removal kind

The package owns `locflow make-demo-data` (and the first step of `locflow demo`). Its modules,
each importing only the ones above it:
  vocabulary.py  constants: residue composition, organisms, planted categories, UniProt terms
                 and their classes, HPA locations, removal kinds
  records.py     `Protein`, `Feature`, `Location`: one generated record and its planted truth
  design.py      the residue sampler and the planted signals of each category
  world.py       the seeded world: the labelled set, the removed records, the HPA-only
                 entries, names and cross-references
  writers.py     UniProt flat-file entries, HPA rows, the proteome FASTA, truth.tsv rows
  make.py        `run_make_demo_data`: the generation order, the files and the manifest
Names with a leading underscore are private to the package: its modules share them, nothing
outside imports them. `make.run_make_demo_data` is the public entry point.
"""
