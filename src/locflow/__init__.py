"""locflow: protein subcellular-localization prediction, from curated data to predictions."""

__version__ = "0.1.0"
