"""The model folder: `fold<k>/weights.safetensors` + `config.json`, `ensemble.json`, resume state.

Loading never unpickles: weights are safetensors, the resume state is read with
`torch.load(weights_only=True)`. Only trainable weights are stored: the whole model for a
from-scratch backbone (`cnn`, `proteinbert`, `birnn`: locflow.models.registry), the head alone for
frozen embeddings, head + LoRA adapters for LoRA (the pretrained backbone is loaded again from
the checkpoint named in config.json).

Each fold's config.json also records what the model learned from (`training_record`, key
``training_data``): the sha256 of the proteins and folds tables it was trained with and the
ids of its training and validation proteins. `check_held_out` uses it to refuse scoring a
protein with a fold model that trained or validated on it.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from locflow.data.classes import OUTPUTS
from locflow.data.files import atomic_path, file_sha256, read_json, write_json
from locflow.errors import InputError
from locflow.models.batches import make_batch
from locflow.models.composition import CompositionPeer
from locflow.models.head import BackboneEncoder, LocModel
from locflow.models.registry import backbone_spec
from locflow.runtime import autocast

FORMAT = "locflow-model/1"
WEIGHTS = "weights.safetensors"
CONFIG = "config.json"
ENSEMBLE = "ensemble.json"
RESUME = "resume.pt"
PEER = "composition_peer"


def input_kind(config: dict[str, Any]) -> str:
    """How a model takes its inputs: 'tokens' (a from-scratch backbone of the registry),
    'sequences' (LoRA) or 'features' (embeddings of a frozen language model)."""
    if backbone_spec(config["backbone"]).from_scratch:
        return "tokens"
    return "sequences" if config.get("lora") else "features"


def build_model(config: dict[str, Any], device: torch.device | str = "cpu") -> LocModel:
    """Build an untrained model from a fold config (loads the backbone for LoRA models).

    A from-scratch backbone is built by its registry spec from its options, stored in the
    config under its name (``config["cnn"]``, ``config["proteinbert"]``, ...)."""
    encoder: torch.nn.Module | None = None
    dim = config.get("dim")
    kind = input_kind(config)
    if kind == "tokens":
        spec = backbone_spec(config["backbone"])
        encoder = spec.encoder(config[spec.name])
        dim = encoder.dim
    elif kind == "sequences":
        from locflow.models.backbones import add_lora, load_backbone

        backbone = load_backbone(config["backbone"], config["checkpoint"], device, torch.float32)
        add_lora(backbone, rank=int(config.get("lora_rank", 4)))
        encoder = BackboneEncoder(backbone)
        dim = backbone.dim
    if dim is None:
        raise InputError("model config lacks 'dim' (the embedding width)")
    model = LocModel(
        int(dim), pooling=config["pooling"], hidden=int(config["hidden"]), encoder=encoder
    )
    return model.to(device)


def stored_state(model: LocModel) -> dict[str, torch.Tensor]:
    """The weights worth storing: everything but a frozen pretrained transformer's own weights."""
    state = model.state_dict()
    if not isinstance(model.encoder, BackboneEncoder):
        return state
    return {k: v for k, v in state.items() if not k.startswith("encoder.") or "lora_" in k}


def load_weights(model: LocModel, weights: dict[str, torch.Tensor]) -> None:
    """Load stored weights; raise InputError if any stored or needed weight does not match."""
    expected = set(stored_state(model))
    missing = sorted(expected - set(weights))
    unexpected = sorted(set(weights) - expected)
    if missing or unexpected:
        raise InputError(
            f"weights do not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    try:
        model.load_state_dict(weights, strict=False)
    except RuntimeError as exc:  # shapes that do not fit the config's widths
        first = " ".join(str(exc).split("\n\t", 2)[1:2]).strip() or "size mismatch"
        raise InputError(f"weights do not fit the model config: {' '.join(first.split())}") from exc


def save_fold(folder: str | Path, model: LocModel, config: dict[str, Any]) -> None:
    """Write `weights.safetensors` and `config.json` (atomically; config last)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in stored_state(model).items()}
    with atomic_path(folder / WEIGHTS) as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT})
    write_json(folder / CONFIG, {"format": FORMAT, **config})


def read_config(folder: str | Path) -> dict[str, Any]:
    """Read and check a fold's config.json."""
    path = Path(folder) / CONFIG
    if not path.exists():
        raise InputError(f"{path}: model config not found")
    config = read_json(path)
    if config.get("format") != FORMAT:
        raise InputError(f"{path}: not a {FORMAT} config (format {config.get('format')!r})")
    return config


def load_fold(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[LocModel, dict[str, Any]]:
    """Load one fold model (folder `fold<k>` or its weights file) in eval mode, with its config."""
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    config = read_config(folder)
    check_config(config, folder / CONFIG)
    try:
        model = build_model(config, device)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{folder / CONFIG}: bad model settings ({exc!r})") from exc
    path = folder / WEIGHTS
    try:
        weights = load_file(str(path), device=str(device))
    except Exception as exc:  # safetensors raises its own error for truncated or foreign files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: not readable safetensors weights ({reason})") from exc
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InputError(f"{path}: weight {name} holds NaN or infinite values")
    try:
        load_weights(model, weights)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
    model.eval()
    return model, config


def composition_peer(config: Mapping[str, Any], where: str | Path = "config") -> CompositionPeer:
    """The composition peer a fold config carries (`PEER`), checked."""
    return CompositionPeer.from_dict(config[PEER], len(OUTPUTS), str(where))


def check_config(config: Mapping[str, Any], where: str | Path) -> None:
    """Refuse a fold config whose thresholds a prediction could not use: every output needs a
    finite threshold in [0, 1] (signal thresholds, where given, likewise), and a composition
    peer, where there is one, well-formed arrays and a weight in [0, 1]."""
    if config.get(PEER) is not None:
        composition_peer(config, where)
    thresholds = config.get("thresholds")
    if not isinstance(thresholds, Mapping):
        raise InputError(f"{where}: no thresholds (a config written by locflow train has them)")
    missing = [o for o in OUTPUTS if o not in thresholds]
    if missing:
        raise InputError(f"{where}: thresholds lack {', '.join(missing)}")
    signal = config.get("signal_thresholds", {})
    if not isinstance(signal, Mapping):
        raise InputError(f"{where}: signal_thresholds is not a mapping")
    for name, value in [*thresholds.items(), *signal.items()]:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not 0.0 <= float(value) <= 1.0:
            raise InputError(f"{where}: threshold {name} is {value!r}, not a number in [0, 1]")


def list_folds(model_dir: str | Path, *, check_listed: bool = True) -> list[dict[str, Any]]:
    """Every fold model (config + weights) under `model_dir`, by fold number.

    The folders themselves are the truth: folds trained as separate tasks (Nextflow) are
    collected into one folder without a shared ensemble.json, and two folds finishing at once
    may each write an ensemble.json that misses the other. A folder that would silently change
    the ensemble is an InputError instead: a `fold*` folder with a config but no weights (or
    weights but no config, or only an interrupted training's resume state), two folders that
    claim the same fold, a folder whose name and config disagree on the fold, or a fold that
    ensemble.json lists but no folder holds.
    """
    model_dir = Path(model_dir)
    folds: list[dict[str, Any]] = []
    by_fold: dict[int, str] = {}
    for folder in sorted(p for p in model_dir.glob("fold*") if p.is_dir()):
        has_config, has_weights = (folder / CONFIG).exists(), (folder / WEIGHTS).exists()
        if not has_config and not has_weights:
            if (folder / RESUME).exists():
                raise InputError(
                    f"{folder}: training of this fold did not finish (only {RESUME}); "
                    "finish it or remove the folder"
                )
            continue
        if not has_weights:
            raise InputError(
                f"{folder / WEIGHTS}: missing, so the ensemble would lack this fold; "
                "retrain the fold or remove its folder"
            )
        if not has_config:
            raise InputError(f"{folder / CONFIG}: missing beside the fold's weights")
        cfg = read_config(folder)
        try:
            fold = int(cfg["fold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{folder / CONFIG}: no fold number ({exc})") from exc
        if folder.name != f"fold{fold}":
            raise InputError(
                f"{folder / CONFIG}: says fold {fold} but the folder is {folder.name}; "
                f"a model folder holds each fold once, as fold<k>/"
            )
        if fold in by_fold:
            raise InputError(f"{folder}: fold {fold} also in {by_fold[fold]}")
        by_fold[fold] = folder.name
        folds.append(
            {
                "fold": fold,
                "path": folder.name,
                "backbone": cfg["backbone"],
                "validation_fold": cfg["validation_fold"],
            }
        )
    folds.sort(key=lambda f: f["fold"])
    listed = model_dir / ENSEMBLE
    if check_listed and listed.exists():
        ensemble = read_json(listed)
        wanted = {int(f["fold"]) for f in ensemble.get("folds", []) if "fold" in f}
        lost = sorted(wanted - set(by_fold))
        if lost:
            raise InputError(
                f"{listed}: lists fold(s) {', '.join(map(str, lost))} that the folder no longer "
                "holds; restore or retrain them, or remove ensemble.json to use the rest"
            )
    return folds


def write_ensemble(model_dir: str | Path) -> dict[str, Any]:
    """(Re)write `ensemble.json` listing every finished fold under `model_dir`."""
    folds = list_folds(model_dir, check_listed=False)
    ensemble = {
        "format": FORMAT,
        "folds": folds,
        "backbones": sorted({f["backbone"] for f in folds}),
        "outputs": list(OUTPUTS),
    }
    write_json(Path(model_dir) / ENSEMBLE, ensemble)
    return ensemble


def save_resume(folder: str | Path, state: dict[str, Any]) -> None:
    """Write the training state after an epoch (atomic, so a kill leaves the previous one)."""
    with atomic_path(Path(folder) / RESUME) as tmp:
        torch.save(state, tmp)


def load_resume(folder: str | Path) -> dict[str, Any] | None:
    """Read the training state, or None when there is none; never unpickles arbitrary objects."""
    path = Path(folder) / RESUME
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which, do not guess
        raise InputError(
            f"{path}: unreadable resume state ({exc}); delete it to start over"
        ) from exc


# --- what a fold model learned from ---------------------------------------------------------

TRAINING_DATA = "training_data"
"""The config.json key of a fold's training record (see `training_record`)."""


def _pack_ids(ids: Iterable[str]) -> dict[str, Any]:
    """A set of ids, compact: count, sha256 of the sorted newline-joined ids, and those ids
    zlib-compressed and base64-encoded (a few bytes per protein)."""
    text = "\n".join(sorted(set(ids))).encode("utf-8")
    return {
        "proteins": 0 if not text else text.count(b"\n") + 1,
        "sha256": hashlib.sha256(text).hexdigest(),
        "ids": base64.b64encode(zlib.compress(text, 9)).decode("ascii"),
    }


def _unpack_ids(packed: Mapping[str, Any], where: str) -> frozenset[str]:
    try:
        text = zlib.decompress(base64.b64decode(packed["ids"], validate=True))
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise InputError(f"{where}: unreadable id list in {TRAINING_DATA} ({exc})") from exc
    if hashlib.sha256(text).hexdigest() != packed.get("sha256"):
        raise InputError(f"{where}: id list in {TRAINING_DATA} does not match its sha256")
    return frozenset(text.decode("utf-8").split("\n")) if text else frozenset()


def training_record(
    proteins: str | Path,
    folds: str | Path,
    train_ids: Iterable[str],
    validation_ids: Iterable[str],
) -> dict[str, Any]:
    """The record a fold's config.json keeps of its data (under `TRAINING_DATA`).

    The proteins and folds tables by path and sha256 of their bytes, and the ids of the
    training and validation proteins (see `_pack_ids`), so that any later consumer can tell
    whether a table is the one the model was trained with and whether a protein was seen.
    """
    return {
        "proteins_table": {"path": str(proteins), "sha256": file_sha256(proteins)},
        "folds_table": {"path": str(folds), "sha256": file_sha256(folds)},
        "train": _pack_ids(train_ids),
        "validation": _pack_ids(validation_ids),
    }


@dataclass(frozen=True)
class TrainingRecord:
    """A fold model's training record, read back from its config."""

    fold: int
    proteins_table: dict[str, str]  # path, sha256
    folds_table: dict[str, str]
    train: frozenset[str]
    validation: frozenset[str]

    def seen(self, ids: Iterable[str]) -> list[str]:
        """The ids among `ids` the model trained or validated on, sorted."""
        return sorted({i for i in ids if i in self.train or i in self.validation})

    def same_table(self, which: str, path: str | Path) -> bool:
        """Whether `path` holds the very 'proteins' or 'folds' table the model was trained with."""
        recorded = self.proteins_table if which == "proteins" else self.folds_table
        return file_sha256(path) == recorded.get("sha256")


def read_training_record(config: Mapping[str, Any]) -> TrainingRecord | None:
    """A fold config's training record; None for a model trained before it was recorded."""
    data = config.get(TRAINING_DATA)
    if data is None:
        return None
    where = f"model fold {config.get('fold')}"
    return TrainingRecord(
        fold=int(config["fold"]),
        proteins_table=dict(data.get("proteins_table", {})),
        folds_table=dict(data.get("folds_table", {})),
        train=_unpack_ids(data.get("train", {}), where),
        validation=_unpack_ids(data.get("validation", {}), where),
    )


def seen_proteins(
    configs: Iterable[Mapping[str, Any]], ids_by_fold: Mapping[int, Iterable[str]]
) -> tuple[dict[int, list[str]], list[int]]:
    """Which proteins each fold model would score although it trained or validated on them.

    `ids_by_fold` maps a fold number to the ids that fold's model is to score. Returns
    ({fold: seen ids, sorted} for the folds that would score any, the folds that cannot be
    checked because their config has no training record: model folders from before it).
    """
    seen: dict[int, list[str]] = {}
    unchecked = []
    for config in configs:
        record = read_training_record(config)
        if record is None:
            unchecked.append(int(config["fold"]))
            continue
        ids = record.seen(ids_by_fold.get(record.fold, ()))
        if ids:
            seen[record.fold] = ids
    return seen, sorted(unchecked)


def check_held_out(
    configs: Iterable[Mapping[str, Any]],
    ids_by_fold: Mapping[int, Iterable[str]],
    what: str,
) -> list[int]:
    """Refuse to let a fold model score a protein it trained or validated on.

    Arguments as in `seen_proteins`; `what` names the table that chose the ids, for the
    message. Raises InputError (one line) on the first fold that would score a seen protein.
    Returns the folds that could not be checked (no training record).
    """
    configs = list(configs)
    seen, unchecked = seen_proteins(configs, ids_by_fold)
    for fold, ids in sorted(seen.items()):
        examples = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
        config = next(c for c in configs if int(c["fold"]) == fold)
        trained = read_training_record(config).folds_table  # type: ignore[union-attr]
        raise InputError(
            f"{what}: model fold {fold} would score {len(ids)} protein(s) it trained or "
            f"validated on ({examples}); it was trained with folds table "
            f"{trained.get('path', '?')} (sha256 {trained.get('sha256', '?')[:12]}): "
            "evaluate with that table"
        )
    return unchecked


# --- inference ------------------------------------------------------------------------------


@dataclass
class Prediction:
    """Per-protein outputs of one batch."""

    probabilities: np.ndarray  # [B, 11]: 10 locations, then membrane
    signals: np.ndarray  # [B, 9] signal-type probabilities
    attention: list[np.ndarray]  # per protein, full length; residues clipped out get 0


def predict_batch(
    model: LocModel,
    config: dict[str, Any],
    sequences: list[str],
    *,
    embeddings: list[np.ndarray] | None = None,
    backbone: Any = None,
) -> Prediction:
    """Run normalised sequences through one fold model, clipping them as in training.

    Frozen-backbone models take `embeddings` (from an EmbeddingStore) or a loaded `backbone`
    (from `locflow.models.backbones.load_backbone`, shared by the five folds).
    """
    device = next(model.parameters()).device
    kind = input_kind(config)
    half = config.get("clip_half")
    if kind == "features" and embeddings is None:
        if backbone is None:
            raise ValueError("a frozen-backbone model needs embeddings or a loaded backbone")
        kind = "sequences"
    batch = make_batch(kind, sequences, half=half, features=embeddings).to(device)
    with torch.inference_mode(), autocast(device):
        inputs, mask = batch.inputs, batch.mask
        if kind == "sequences" and model.encoder is None:
            inputs, mask = backbone.forward(inputs)
            mask = mask.bool()
        out = model(inputs, mask)
        probs = torch.sigmoid(out.logits.float()).cpu().numpy()
        sig = torch.sigmoid(out.signal_logits.float()).cpu().numpy()
        att = out.attention.float().cpu().numpy()
    if config.get(PEER) is not None:
        probs = composition_peer(config).blend(probs, sequences)
    attention = []
    for i, (seq, keep) in enumerate(zip(sequences, batch.keep, strict=True)):
        full = np.zeros(len(seq), dtype=np.float32)
        full[keep] = att[i, : len(keep)]
        attention.append(full)
    return Prediction(probs, sig, attention)


__all__ = [
    "FORMAT",
    "PEER",
    "TRAINING_DATA",
    "Prediction",
    "TrainingRecord",
    "build_model",
    "check_config",
    "check_held_out",
    "composition_peer",
    "input_kind",
    "load_fold",
    "load_resume",
    "load_weights",
    "predict_batch",
    "read_config",
    "read_training_record",
    "save_fold",
    "save_resume",
    "seen_proteins",
    "stored_state",
    "training_record",
    "write_ensemble",
]
