"""The model shipped inside the package: where it lives, its size limit, its model card.

`locflow predict` without `--model` uses the model folder `locflow/default_model/` (package
data): `fold<k>/weights.safetensors` + `config.json`, `ensemble.json`, `provenance.json` (what
`make model` ran: data files and their sha256, partition, audit, commands, seeds, machine,
times), `metrics.json` (the cross-validation of `locflow evaluate` on those folds) and
`MODEL_CARD.md`, generated from the last two by `model_card`. The folder holds only a README
until `make model` has been run and its result committed; the weights are an artefact of that
command, never edited by hand.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from locflow.data.files import read_json, write_json, write_text
from locflow.errors import InputError, ParameterError

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "default_model"
"""The shipped model folder (inside the installed package)."""

SIZE_LIMIT = 20_000_000
"""Bytes the shipped model folder may hold in all (20 MB)."""

PROVENANCE = "provenance.json"
METRICS = "metrics.json"
CARD = "MODEL_CARD.md"
README = "README.md"  # the folder's own explanation, not part of the model


def default_model_dir() -> Path:
    """The folder of the shipped model (it may hold no model yet)."""
    return DEFAULT_MODEL_DIR


def has_model(folder: str | Path) -> bool:
    """True when `folder` holds at least one fold model (a config and its weights)."""
    return any(
        (f / "config.json").is_file() and (f / "weights.safetensors").is_file()
        for f in Path(folder).glob("fold*")
    )


def default_model() -> Path:
    """The shipped model folder, for a prediction given no `model_dir`; a one-line
    ParameterError when locflow was installed without one."""
    folder = default_model_dir()
    if not has_model(folder):
        raise ParameterError(
            f"no `model_dir` given and this locflow has no default model ({folder} holds no "
            "fold model): pass `model_dir` FOLDER, or build the default with `make model`"
        )
    return folder


def describe(folder: str | Path) -> str:
    """One line about a model folder for users: backbone, folds, data, where its card is."""
    from locflow.models.checkpoint import list_folds

    folder = Path(folder)
    folds = list_folds(folder)
    backbones = sorted({f["backbone"] for f in folds})
    data = ""
    if (folder / PROVENANCE).is_file():
        prov = read_json(folder / PROVENANCE)
        data = f", trained on {prov.get('data', {}).get('release', 'unknown data')}"
        n = prov.get("data", {}).get("proteins")
        data += f" ({n} proteins)" if n else ""
    card = folder / CARD
    where = f"; see {card}" if card.is_file() else ""
    return f"{'/'.join(backbones)}, {len(folds)} fold models{data}{where}"


def model_files(folder: str | Path) -> list[Path]:
    """The files that make up a model folder (its README aside), sorted."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != README)


def model_size(folder: str | Path) -> int:
    """Bytes of all the files of a model folder (its README aside)."""
    return sum(p.stat().st_size for p in model_files(folder))


def check_size(folder: str | Path, limit: int = SIZE_LIMIT) -> int:
    """The folder's size in bytes; InputError when it is above `limit`."""
    size = model_size(folder)
    if size > limit:
        biggest = max(model_files(folder), key=lambda p: p.stat().st_size)
        raise InputError(
            f"{folder}: {size / 1e6:.1f} MB of model files, above the {limit / 1e6:.0f} MB a "
            f"shipped model may hold (largest: {biggest.name}, {biggest.stat().st_size / 1e6:.1f}"
            " MB); train a smaller backbone"
        )
    return size


# Files copied from a trained model folder: weights and configs of each fold, and the list.
_FOLD_FILES = ("weights.safetensors", "config.json")


def install(
    model_dir: str | Path,
    provenance: Mapping[str, Any],
    metrics: Mapping[str, Any],
    dest: str | Path | None = None,
    limit: int = SIZE_LIMIT,
) -> Path:
    """Copy a trained model folder's folds into `dest` (default: the shipped folder) with its
    provenance, metrics and a generated model card; the model files `dest` held before are
    removed first (its README stays). Returns `dest`. InputError when above `limit`."""
    from locflow.models.checkpoint import list_folds, write_ensemble

    model_dir = Path(model_dir)
    dest = Path(dest) if dest is not None else default_model_dir()
    folds = list_folds(model_dir)
    if not folds:
        raise InputError(f"{model_dir}: no trained fold model to install")
    dest.mkdir(parents=True, exist_ok=True)
    for old in model_files(dest):
        old.unlink()
    for sub in sorted(p for p in dest.glob("fold*") if p.is_dir()):
        shutil.rmtree(sub)
    for fold in folds:
        (dest / fold["path"]).mkdir()
        for name in _FOLD_FILES:
            shutil.copyfile(model_dir / fold["path"] / name, dest / fold["path"] / name)
    write_ensemble(dest)
    write_json(dest / METRICS, dict(metrics))
    write_card(dest, provenance)
    check_size(dest, limit)
    return dest


def _loss_line(loss: dict[str, float] | None) -> list[str]:
    """The card's line on the attention terms' weights (older provenance has none)."""
    if loss is None:
        return []
    return [
        f"- loss: focal BCE + {loss['kl_weight']:g} x attention KL to signals + "
        f"{loss['dct_weight']:g} x DCT attention prior (DeepLoc 2.0: 0.1 and 0.1)"
    ]


def _peer_line(train: Mapping[str, Any]) -> list[str]:
    """The card's line on the composition peer (older provenance has none)."""
    if not train.get("composition_peer"):
        return []
    return [
        "- each fold blends in a logistic regression on amino-acid composition (whole "
        "sequence, 50-residue ends, log length), fitted on its training folds, at weights "
        f"{train.get('peer_weights', 'n/a')} chosen on the validation folds"
    ]


def write_card(folder: str | Path, provenance: Mapping[str, Any]) -> Path:
    """Rewrite an installed model's provenance and its card from it (metrics unchanged)."""
    folder = Path(folder)
    metrics = read_json(folder / METRICS)
    write_json(folder / PROVENANCE, dict(provenance))
    # The card states the size of everything else ("... plus this card"): not its old self.
    card = folder / CARD
    size = model_size(folder) - (card.stat().st_size if card.is_file() else 0)
    write_text(card, model_card(provenance, metrics, size))
    return folder / CARD


# --- the model card -------------------------------------------------------------------------

_HEADLINE = (
    ("accuracy", "exact-match accuracy"),
    ("jaccard", "Jaccard"),
    ("micro_f1", "micro F1"),
    ("macro_f1", "macro F1"),
)


def mean_std(summary: Mapping[str, Any], key: str) -> str:
    """'mean ± std' of a summarised metric, or 'n/a'."""
    entry = summary.get(key) or {}
    mean, std = entry.get("mean"), entry.get("std")
    if mean is None:
        return "n/a"
    return f"{mean:.3f} ± {std:.3f}" if std is not None else f"{mean:.3f}"


def _sha(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return "n/a"
    return f"`{entry.get('path', '?')}` (sha256 `{entry.get('sha256', '?')}`)"


def model_card(provenance: Mapping[str, Any], metrics: Mapping[str, Any], size: int) -> str:
    """MODEL_CARD.md of a shipped model, from its provenance and `locflow evaluate` metrics
    (cross-validation: per-fold mean ± sample standard deviation). Numbers are never typed in:
    each comes from one of those two dicts."""
    from locflow.data.classes import LOCATIONS

    p = provenance
    data, part, train = p.get("data", {}), p.get("partition", {}), p.get("training", {})
    summary = metrics.get("summary", {})
    folds = metrics.get("folds", [])
    lines = [
        "# locflow default model",
        "",
        f"An ensemble of {len(folds)} `{train.get('backbone', '?')}` fold models trained from "
        "scratch (no pretrained weights) with locflow's DeepLoc 2.0 head: 10 locations, "
        "membrane-bound, 9 sorting-signal types. `locflow predict proteins.fasta --out DIR` "
        "uses it when no `--model` is given: the fold models' probabilities are averaged and "
        "each output's threshold is the mean of the fold thresholds.",
        "",
        "Generated by `scripts/make_model.py` from `provenance.json` (what the run did) and "
        "`metrics.json` (`locflow evaluate` on the folds); nothing here is typed in by hand.",
        "",
        "## Data",
        "",
        f"- release: {data.get('release', 'n/a')}; {data.get('proteins', 'n/a')} proteins"
        + (f" (a subset, seed {data.get('seed')})" if data.get("subset") else ""),
        f"- sequences and labels: {_sha(data.get('csv'))}",
        f"- sorting signals: {_sha(data.get('signals'))}",
        f"- proteins table: {_sha(data.get('proteins_table'))}",
        "",
        "## Partition",
        "",
        f"- folds table: {_sha(part.get('folds_table'))}",
        f"- made by: `{part.get('command', 'n/a')}`",
        f"- fold sizes: {part.get('fold_sizes', 'n/a')}",
        f"- audit (independent MMseqs2 search): {part.get('audit', 'n/a')}",
        "",
        "## Training",
        "",
        f"- command: `{p.get('command', 'n/a')}`",
        f"- backbone `{train.get('backbone', '?')}`, options {train.get('options', {})}; "
        f"{train.get('parameters', 'n/a')} parameters per fold model",
        f"- at most {train.get('epochs', 'n/a')} epochs per fold (early stopping on the "
        f"validation fold); epochs run {train.get('epochs_run', 'n/a')}; seeds "
        f"{train.get('seeds', 'n/a')}",
        *_loss_line(train.get("loss")),
        *_peer_line(train),
        "- each fold K tests, fold K+1 validates (early stopping, thresholds), the other "
        "three train; thresholds: per-output MCC, then one offset so that the predicted "
        "label count matches the true one on the validation fold",
        f"- training time: {train.get('seconds_total', 'n/a')} s in all (per fold "
        f"{train.get('seconds_per_fold', 'n/a')}), on {p.get('machine', 'n/a')}, "
        f"{train.get('parallel_jobs', 'n/a')} trainings at once",
        f"- locflow {p.get('versions', {}).get('locflow', '?')}, torch "
        f"{p.get('versions', {}).get('torch', '?')}; date {p.get('date', 'n/a')}",
        "",
        "## Cross-validation (test folds, mean ± std over folds)",
        "",
        "| scoring | " + " | ".join(n for _, n in _HEADLINE) + " |",
        "| --- | " + " | ".join("---" for _ in _HEADLINE) + " |",
    ]
    for key, label in (
        ("locations", "predictor output (at least one location)"),
        ("locations_threshold_only", "thresholds only (DeepLoc 2.0's paper)"),
    ):
        if f"{key}.micro_f1" in summary:
            row = [mean_std(summary, f"{key}.{h}") for h, _ in _HEADLINE]
            lines.append(f"| {label} | " + " | ".join(row) + " |")
    mcc = [
        f"{c} {mean_std(summary, f'locations.per_class.{c}.mcc')}"
        for c in LOCATIONS
        if f"locations.per_class.{c}.mcc" in summary
    ]
    lines += [
        "",
        "Per-location MCC: " + "; ".join(mcc) + ".",
        "",
        f"Locations per protein: true {mean_std(summary, 'locations.mean_true_labels')}, predicted "
        f"{mean_std(summary, 'locations.mean_predicted_labels')}. Membrane-bound MCC "
        f"{mean_std(summary, 'membrane.mcc')}; signals micro F1 "
        f"{mean_std(summary, 'signals.micro_f1')} (proteins with annotated signals).",
        "",
        "## Size",
        "",
        f"{size:,} bytes ({size / 1e6:.1f} MB) of weights, configs, provenance and metrics, "
        f"plus this card; the limit for all of it is {SIZE_LIMIT / 1e6:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "CARD",
    "DEFAULT_MODEL_DIR",
    "METRICS",
    "PROVENANCE",
    "SIZE_LIMIT",
    "check_size",
    "default_model",
    "default_model_dir",
    "describe",
    "has_model",
    "install",
    "model_card",
    "model_files",
    "model_size",
]
