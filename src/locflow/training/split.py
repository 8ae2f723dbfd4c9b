"""The proteins one fold trains and validates on: fold K tests and is never read, another whole
fold validates, the rest train."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from locflow.data.classes import LOCATIONS, OUTPUTS
from locflow.data.tables import read_folds, read_proteins
from locflow.errors import InputError


@dataclass
class Dataset:
    """Proteins of one split: ids, sequences, 11-output targets and signal spans."""

    ids: list[str]
    sequences: list[str]
    targets: np.ndarray
    signals: list[list[dict[str, Any]]]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx: list[int] | np.ndarray) -> Dataset:
        """The proteins at positions `idx`."""
        return Dataset(
            [self.ids[i] for i in idx],
            [self.sequences[i] for i in idx],
            self.targets[np.asarray(idx, dtype=np.int64)],
            [self.signals[i] for i in idx],
        )


def load_split(
    proteins: str | Path, folds: str | Path, fold: int, validation_fold: int | None = None
) -> tuple[Dataset, Dataset, int, int]:
    """Read the tables; return (train, validation, validation fold, number of folds).

    The test fold `fold` and proteins marked -1 are left out entirely.
    """
    table = read_proteins(proteins)
    fold_of = dict(
        zip(
            read_folds(folds).column("id").to_pylist(),
            read_folds(folds).column("fold").to_pylist(),
            strict=True,
        )
    )
    present = sorted({f for f in fold_of.values() if f >= 0})
    if fold not in present:
        raise InputError(f"{folds}: fold {fold} has no proteins (folds present: {present})")
    k = max(present) + 1
    val = (fold + 1) % k if validation_fold is None else validation_fold
    if val == fold or val not in present:
        raise InputError(f"{folds}: validation fold {val} must be another fold in {present}")
    rows = table.select(["id", "sequence", "locations", "membrane", "signals"]).to_pylist()
    train_rows, val_rows = [], []
    for row in rows:
        f = fold_of.get(row["id"], -1)
        if f == val:
            val_rows.append(row)
        elif f >= 0 and f != fold:
            train_rows.append(row)
    if not train_rows or not val_rows:
        raise InputError(f"{folds}: fold {fold} with validation fold {val} leaves nothing to train")
    return _dataset(train_rows), _dataset(val_rows), val, k


def _dataset(rows: list[dict[str, Any]]) -> Dataset:
    targets = np.zeros((len(rows), len(OUTPUTS)), dtype=np.float32)
    for i, row in enumerate(rows):
        for loc in row["locations"] or []:
            targets[i, LOCATIONS.index(loc)] = 1.0
        targets[i, -1] = float(bool(row["membrane"]))
    return Dataset(
        [r["id"] for r in rows],
        [r["sequence"] for r in rows],
        targets,
        [list(r["signals"] or []) for r in rows],
    )


__all__ = ["Dataset", "load_split"]
