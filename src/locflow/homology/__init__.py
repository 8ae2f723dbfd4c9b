"""The homology stage: MMseqs2 searches, folds with no homolog pair across them (partition),
the independent check of those folds (audit), and the test set kept apart from the training
proteins (filter-homologs).
"""
