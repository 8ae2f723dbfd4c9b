"""The data stage: fetching UniProt and HPA releases, curating them (and DeepLoc 2.0's own CSV)
into proteins tables, and the vocabulary, table schemas, sequence rules and file handling that
every later stage reads its inputs with. The shipped location tables (`*.tsv`) live here too.
"""
