"""A tiny real model folder, trained once per test session with locflow's own training code.

Demo data (locflow make-demo-data) is curated like SwissProt, split round-robin into three
folds, and two cnn fold models are trained for one epoch: enough to exercise evaluation,
prediction and reports on real weights, thresholds and attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from locflow.data.curate import run_curate_swissprot
from locflow.data.tables import folds_table, read_proteins, write_table
from locflow.demo.data.make import run_make_demo_data
from locflow.training.fold import run_train
from locflow.training.settings import TrainSettings

FOLDS = 3
TRAINED = (0, 1)
_CACHE: dict[str, object] = {}


@dataclass(frozen=True)
class TinyModel:
    """Paths of the session's demo data and trained model."""

    root: Path
    proteins: Path
    folds: Path
    model: Path
    fasta: Path


def build(root: Path) -> TinyModel:
    """Make demo data, curate it, assign folds and train the fold models under `root`."""
    demo = root / "demo"
    run_make_demo_data(demo, seed=3, proteins=90, proteome=12)
    proteins = root / "proteins.parquet"
    run_curate_swissprot([demo / "uniprot_sprot.dat"], proteins)
    ids = read_proteins(proteins).column("id").to_pylist()
    folds = root / "folds.parquet"
    write_table(folds_table(ids, [i % FOLDS for i in range(len(ids))]), folds)
    model = root / "model"
    for k in TRAINED:
        settings = TrainSettings(
            fold=k,
            epochs=1,
            cnn={"channels": 16, "dilations": [1, 2], "kernel": 5, "dropout": 0.0},
            hidden=32,
            signal_epochs=20,
            device="cpu",
            seed=k,
        )
        run_train(proteins, folds, model, settings=settings)
    return TinyModel(root, proteins, folds, model, demo / "proteome.fasta")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """The session's tiny trained model (built on first use, shared by all test modules)."""
    if "model" not in _CACHE:
        _CACHE["model"] = build(tmp_path_factory.mktemp("tiny_model"))
    return _CACHE["model"]  # type: ignore[return-value]


@dataclass(frozen=True)
class Evaluations:
    """Output folders of `evaluate` on the tiny model: cross-validation and a test set."""

    cv: Path
    test: Path
    test_proteins: Path


@pytest.fixture(scope="session")
def evaluations(tiny_model: TinyModel) -> Evaluations:  # noqa: F811
    """Cross-validation over the trained folds, and an 'independent test' on fold 2.

    Fold 2 is never a test fold here; it stands in for a held-out set (the point is the
    mechanics of averaging, not the numbers).
    """
    if "evaluations" not in _CACHE:
        from locflow.data.tables import read_folds
        from locflow.evaluation.evaluate import run_evaluate

        root = tiny_model.root
        folds = read_folds(tiny_model.folds).to_pydict()
        held = {i for i, f in zip(folds["id"], folds["fold"], strict=True) if f == 2}
        table = read_proteins(tiny_model.proteins)
        mask = [i in held for i in table.column("id").to_pylist()]
        test_proteins = root / "test_proteins.parquet"
        write_table(table.filter(mask), test_proteins)
        run_evaluate(
            tiny_model.model, tiny_model.proteins, root / "cv", folds=tiny_model.folds, device="cpu"
        )
        run_evaluate(tiny_model.model, test_proteins, root / "test", device="cpu")
        _CACHE["evaluations"] = Evaluations(root / "cv", root / "test", test_proteins)
    return _CACHE["evaluations"]  # type: ignore[return-value]


@dataclass(frozen=True)
class HpaEvaluation:
    """`evaluate` of the tiny model on an HPA-like test set, and that set."""

    folder: Path
    proteins: Path


@pytest.fixture(scope="session")
def hpa_evaluation(tiny_model: TinyModel, evaluations: Evaluations) -> HpaEvaluation:  # noqa: F811
    """The 'independent test' proteins dressed as `locflow curate-hpa` writes them: source
    'hpa', no membrane annotation, and one protein whose only location (Peroxisome) is not
    among DeepLoc 2.0's six HPA classes."""
    if "hpa" not in _CACHE:
        import pyarrow as pa

        from locflow.evaluation.evaluate import run_evaluate

        table = read_proteins(evaluations.test_proteins)
        n = table.num_rows
        locations = table.column("locations").to_pylist()
        locations[0] = ["Peroxisome"]
        table = table.set_column(
            table.schema.get_field_index("locations"),
            "locations",
            pa.array(locations, pa.list_(pa.string())),
        )
        for name, values in (("source", ["hpa"] * n), ("membrane", [False] * n)):
            field = table.schema.field(name)
            table = table.set_column(
                table.schema.get_field_index(name), field, pa.array(values, field.type)
            )
        root = tiny_model.root
        proteins = root / "hpa_proteins.parquet"
        write_table(table, proteins)
        run_evaluate(tiny_model.model, proteins, root / "hpa", device="cpu")
        _CACHE["hpa"] = HpaEvaluation(root / "hpa", proteins)
    return _CACHE["hpa"]  # type: ignore[return-value]
