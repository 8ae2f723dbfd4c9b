"""The shipped default model: installing one, its model card, the size limit, `predict`
without `--model`, and (once `make model` has filled it) the real shipped folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from trained_model import evaluations, tiny_model  # noqa: F401

import locflow.prediction.shipped as shipped
from locflow.data.files import file_sha256, read_json
from locflow.errors import InputError
from locflow.models.checkpoint import list_folds, read_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _provenance(tiny) -> dict:  # noqa: ANN001
    """A provenance record as scripts/make_model.py writes it, for the tiny model."""
    folds_sha = read_config(tiny.model / "fold0")["training_data"]["folds_table"]["sha256"]
    return {
        "date": "2026-01-01",
        "command": "scripts/make_model.py --subset 90 --epochs 1",
        "machine": "test machine",
        "versions": {"locflow": "0.1.0", "torch": "2"},
        "data": {
            "release": "demo",
            "proteins": 90,
            "csv": {"path": "demo.csv.gz", "sha256": "ab" * 32},
            "signals": None,
            "proteins_table": {"path": str(tiny.proteins), "sha256": file_sha256(tiny.proteins)},
        },
        "partition": {
            "folds_table": {"path": str(tiny.folds), "sha256": folds_sha},
            "command": "round robin (test)",
            "fold_sizes": [30, 30, 30],
            "audit": "not run (test)",
        },
        "training": {
            "backbone": "cnn",
            "options": {"channels": 16},
            "parameters": 1234,
            "epochs": 1,
            "epochs_run": [1, 1],
            "seeds": [0, 1],
            "seconds_total": 2.5,
            "seconds_per_fold": [1.2, 1.3],
            "loss": {"kl_weight": 0.01, "dct_weight": 0.0},
            "composition_peer": True,
            "peer_weights": [0.3, 0.2],
        },
    }


@pytest.fixture
def installed(tiny_model, evaluations, tmp_path) -> Path:  # noqa: F811
    metrics = read_json(evaluations.cv / "metrics.json")
    return shipped.install(tiny_model.model, _provenance(tiny_model), metrics, tmp_path / "dm")


def test_install_writes_the_model_its_records_and_a_card(installed, tiny_model, evaluations):  # noqa: F811
    names = {p.relative_to(installed).as_posix() for p in shipped.model_files(installed)}
    assert names == {
        "fold0/weights.safetensors",
        "fold0/config.json",
        "fold1/weights.safetensors",
        "fold1/config.json",
        "ensemble.json",
        "provenance.json",
        "metrics.json",
        "MODEL_CARD.md",
    }  # no resume state, no predictions
    assert [f["fold"] for f in list_folds(installed)] == [0, 1]
    card = (installed / "MODEL_CARD.md").read_text()
    metrics = read_json(evaluations.cv / "metrics.json")
    summary = metrics["summary"]
    # Every headline number of the card is the evaluate output's, formatted.
    for key in ("accuracy", "jaccard", "micro_f1", "macro_f1"):
        entry = summary[f"locations.{key}"]
        assert f"{entry['mean']:.3f} ± {entry['std']:.3f}" in card
    mcc = summary["locations.per_class.Nucleus.mcc"]
    assert f"Nucleus {mcc['mean']:.3f}" in card
    assert "ab" * 32 in card and "round robin (test)" in card and "`cnn`" in card
    assert "focal BCE + 0.01 x attention KL to signals + 0 x DCT attention prior" in card
    assert "at weights [0.3, 0.2] chosen on the validation folds" in card
    size = shipped.model_size(installed)
    assert size < shipped.SIZE_LIMIT
    assert f"{size - len(card.encode()):,} bytes" in card  # the size of everything but the card
    # Installing again replaces the model; a README in the folder stays and does not count.
    (installed / "README.md").write_text("about this folder\n")
    again = shipped.install(
        tiny_model.model, _provenance(tiny_model), metrics, installed, limit=10**9
    )
    assert (again / "README.md").exists() and shipped.model_size(again) == size
    with pytest.raises(InputError, match="above the 0 MB"):
        shipped.install(tiny_model.model, _provenance(tiny_model), metrics, installed, limit=1000)


def _predict(args: list[str], monkeypatch, capsys) -> tuple[int, str]:  # noqa: ANN001
    from locflow.cli import main

    monkeypatch.setattr(sys, "argv", ["locflow", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0), capsys.readouterr().err


def test_predict_without_model_uses_the_default(
    installed, tiny_model, tmp_path, monkeypatch, capsys  # noqa: F811
):
    monkeypatch.setattr(shipped, "DEFAULT_MODEL_DIR", tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("no model yet\n")
    common = [str(tiny_model.fasta), "--device", "cpu"]
    code, err = _predict(["predict", *common, "--out", str(tmp_path / "x")], monkeypatch, capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no --model given")
    assert not (tmp_path / "x").exists()

    monkeypatch.setattr(shipped, "DEFAULT_MODEL_DIR", installed)
    code, err = _predict(
        ["predict", *common, "--out", str(tmp_path / "default")], monkeypatch, capsys
    )
    assert code == 0
    assert "using the default model shipped with locflow (cnn, 2 fold models" in err
    assert "MODEL_CARD.md" in err
    code, _ = _predict(
        ["predict", *common, "--model", str(installed), "--out", str(tmp_path / "given")],
        monkeypatch,
        capsys,
    )
    assert code == 0
    default = pq.read_table(tmp_path / "default" / "predictions.parquet")
    given = pq.read_table(tmp_path / "given" / "predictions.parquet")
    assert default.num_rows > 0 and default.equals(given)
    csv = (tmp_path / "default" / "results.csv").read_bytes()
    assert csv == (tmp_path / "given" / "results.csv").read_bytes()


# --- the real shipped model (present once `make model` has filled the folder) --------------

REAL = shipped.DEFAULT_MODEL_DIR


@pytest.mark.skipif(not shipped.has_model(REAL), reason="no shipped model yet (make model)")
def test_the_shipped_model_loads_names_its_data_and_predicts(tmp_path, monkeypatch, capsys):
    from locflow.demo.data.make import run_make_demo_data

    assert shipped.model_size(REAL) <= shipped.SIZE_LIMIT
    prov = read_json(REAL / "provenance.json")
    metrics = read_json(REAL / "metrics.json")
    assert prov["data"]["csv"]["sha256"] and prov["partition"]["folds_table"]["sha256"]
    for fold in list_folds(REAL):
        record = read_config(REAL / fold["path"])["training_data"]
        assert record["folds_table"]["sha256"] == prov["partition"]["folds_table"]["sha256"]
        assert record["proteins_table"]["sha256"] == prov["data"]["proteins_table"]["sha256"]
    card = (REAL / "MODEL_CARD.md").read_text()
    assert card == shipped.model_card(prov, metrics, shipped.model_size(REAL) - len(card.encode()))
    run_make_demo_data(tmp_path / "demo", seed=1, proteins=20, proteome=15)
    fasta = str(tmp_path / "demo" / "proteome.fasta")
    code, err = _predict(
        ["predict", fasta, "--out", str(tmp_path / "d"), "--device", "cpu"], monkeypatch, capsys
    )
    assert code == 0 and "using the default model" in err
    code, _ = _predict(
        ["predict", fasta, "--model", str(REAL), "--out", str(tmp_path / "g"), "--device", "cpu"],
        monkeypatch,
        capsys,
    )
    default = pq.read_table(tmp_path / "d" / "predictions.parquet")
    assert default.equals(pq.read_table(tmp_path / "g" / "predictions.parquet"))
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["predicted"] > 0


def test_a_later_audit_is_recorded_only_for_the_table_the_model_was_trained_on(
    installed, tiny_model, tmp_path  # noqa: F811
):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_model import refresh_audit

    report = tmp_path / "audit.json"
    other = {"name": str(tmp_path / "other.parquet"), "crossing_pairs": 9}
    mine = {"name": str(tiny_model.folds), "crossing_pairs": 0}
    search = {"exhaustive": False, "sensitivity": 7.5, "max_seqs": 5000}
    report.write_text(json.dumps({"threshold": 0.3, "search": search, "results": [other, mine]}))
    verdict = refresh_audit(installed, report, tiny_model.folds)
    assert verdict.startswith("0 homolog pairs across folds at identity > 0.3")
    assert verdict in (installed / "MODEL_CARD.md").read_text()
    assert read_json(installed / "provenance.json")["partition"]["audit"] == verdict
    # The rewritten card still counts every file but itself ("... plus this card").
    card = (installed / "MODEL_CARD.md").read_text()
    assert f"{shipped.model_size(installed) - len(card.encode()):,} bytes" in card
    # Another table (even one holding the same ids) is refused, as is a report without it.
    copy = tmp_path / "copy.parquet"
    pq.write_table(pq.read_table(tiny_model.folds).slice(1), copy)
    with pytest.raises(InputError, match="not the folds table"):
        refresh_audit(installed, report, copy)
    report.write_text(json.dumps({"threshold": 0.3, "search": search, "results": [other]}))
    with pytest.raises(InputError, match="audits no table"):
        refresh_audit(installed, report, tiny_model.folds)
