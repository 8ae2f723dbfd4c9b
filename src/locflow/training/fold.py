"""Train one cross-validation fold (docs/model.md): `run_train`, the function behind
`locflow train`.

Fold K is the test fold and is never read; a different whole fold V (default (K + 1) mod k)
validates: early stopping, the learning-rate schedule and the best epoch (all on the validation
focal BCE alone, as in DeepLoc 2.0, not on the total loss with its attention terms), per-output
MCC thresholds and the signal head's stopping point all use it. Training is seeded and
resumable: the state after every epoch goes to `fold<K>/resume.pt`, and a rerun (possibly with
more epochs) continues.

The steps, each a function here or in a module of its own: settle the settings (`_settled`),
build the inputs, the model and its optimizer (`_build`, `_optimizer`), resume or start
(locflow.training.resume), run the epochs (locflow.training.loop), fit the thresholds and the
signal head on the validation fold (`_calibrate`), and save the fold with its config
(locflow.models.checkpoint).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from locflow import runtime
from locflow.data.classes import OUTPUTS, SIGNALS
from locflow.data.files import rounded
from locflow.errors import ParameterError
from locflow.models.checkpoint import (
    PEER,
    TRAINING_DATA,
    build_model,
    load_weights,
    save_fold,
    save_resume,
    training_record,
    write_ensemble,
)
from locflow.models.head import LocModel
from locflow.models.registry import backbone_spec
from locflow.training.inputs import Inputs, match_store
from locflow.training.loop import predict_dataset, train_epochs
from locflow.training.peer import peer_for_fold
from locflow.training.resume import (
    TrainingState,
    data_fingerprint,
    resume_or_start,
    settings_fingerprint,
)
from locflow.training.settings import POOLINGS, FoldConfig, TrainSettings, default_clip_half
from locflow.training.signal_head import train_signal_head
from locflow.training.split import Dataset, load_split
from locflow.training.thresholds import choose_thresholds


def run_train(
    proteins: str | Path, folds: str | Path, out: str | Path, *, settings: TrainSettings
) -> dict[str, Any]:
    """Train fold `settings.fold`; write `out/fold<K>/` and update `out/ensemble.json`.

    Returns the fold's config (as written to config.json).
    """
    if settings.pooling not in POOLINGS:
        raise ParameterError(f"`pooling` must be attention or mean, not {settings.pooling!r}")
    if min(settings.kl_weight, settings.dct_weight) < 0:
        raise ParameterError("`kl_weight` and `dct_weight` must be at least 0")
    device = runtime.resolve_device(settings.device)
    runtime.keep_freed_memory()
    train, val, val_fold, k = load_split(proteins, folds, settings.fold, settings.validation_fold)
    settings = _settled(settings, val_fold)
    folder = Path(out) / f"fold{settings.fold}"
    fold_config = FoldConfig.of(settings, k)
    inputs, model = _build(fold_config, settings, device, train, val)
    optimizer, scheduler = _optimizer(model, settings)
    # The data this run reads, by the same record config.json keeps: a resume must continue
    # on the very tables (and so the very training and validation proteins) it started with.
    record = training_record(proteins, folds, train.ids, val.ids)
    settings_print, data_print = settings_fingerprint(settings), data_fingerprint(record)
    state = resume_or_start(folder, model, optimizer, scheduler, settings_print, data_print)

    def save(state: TrainingState) -> None:
        save_resume(folder, state.saved(settings_print, data_print, model, optimizer, scheduler))

    out_of_time = train_epochs(
        model, inputs, train, val, settings, optimizer, scheduler, state, save
    )
    load_weights(model, {k_: v.to(device) for k_, v in state.best_weights.items()})
    config = {
        **fold_config.as_dict(),
        **_calibrate(model, inputs, train, val, settings),
        "training": _training_summary(settings, train, state, out_of_time),
        # What this model saw: evaluation refuses to score these proteins with it.
        TRAINING_DATA: record,
    }
    save_fold(folder, model, config)
    write_ensemble(out)
    return config


def _settled(settings: TrainSettings, validation_fold: int) -> TrainSettings:
    """A copy of `settings` with what the data and the backbone decide filled in: the
    validation fold, the clipping (the embeddings file's, else the backbone's), and an
    absolute checkpoint path."""
    settings = copy.deepcopy(settings)
    settings.validation_fold = validation_fold
    spec = backbone_spec(settings.backbone)
    if settings.embeddings and not settings.lora and not spec.from_scratch:
        match_store(settings)
    if settings.clip_half is None:
        settings.clip_half = default_clip_half(settings.backbone)
    if settings.lora and spec.from_scratch:
        raise ParameterError(
            f"`lora` applies to transformer backbones, not {settings.backbone} (trained from "
            "scratch)"
        )
    if settings.checkpoint and Path(settings.checkpoint).exists():
        settings.checkpoint = str(Path(settings.checkpoint).resolve())
    return settings


def _build(
    config: FoldConfig,
    settings: TrainSettings,
    device: torch.device,
    train: Dataset,
    val: Dataset,
) -> tuple[Inputs, LocModel]:
    """The inputs and a freshly initialised, seeded model; fills in `config.dim`."""
    if config.backbone_options is not None:
        config.dim = int(backbone_spec(config.backbone).encoder(config.backbone_options).dim)
    inputs = Inputs(config, device, settings)
    inputs.check(train, "training")
    inputs.check(val, "validation")
    if inputs.kind == "features":
        config.dim = inputs.dim(train, settings.backbone)
    torch.manual_seed(settings.seed)
    model = build_model(config.as_dict(), device)
    if inputs.kind == "sequences":
        config.dim = int(model.encoder.backbone.dim)
    return inputs, model


def _optimizer(model: LocModel, settings: TrainSettings) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW on every trainable weight but the signal head's (fitted later, on its own), and
    DeepLoc 2.0's schedule: the rate cut tenfold when the validation focal BCE stalls."""
    params = [
        p
        for n, p in model.named_parameters()
        if p.requires_grad and not n.startswith("signal_head.")
    ]
    optimizer = torch.optim.AdamW(params, lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.1, patience=settings.lr_patience, min_lr=settings.min_lr
    )
    return optimizer, scheduler


def _calibrate(
    model: LocModel, inputs: Inputs, train: Dataset, val: Dataset, settings: TrainSettings
) -> dict[str, Any]:
    """Thresholds and the signal head, fitted on the validation fold with the model's final
    weights; config.json's keys for them."""
    runtime.stage("fitting thresholds and the signal head")
    val_probs, val_pooled, _ = predict_dataset(model, inputs, val, settings.tokens_per_batch)
    peer_config: dict[str, Any] = {}
    blended = val_probs
    if settings.composition_peer:
        peer, choice, blended = peer_for_fold(train, val, val_probs)
        peer_config[PEER] = {**peer.as_dict(), "choice": choice}
    # The thresholds apply to what the fold outputs: the blend when it carries a peer.
    thresholds, val_mcc, label_count = choose_thresholds(blended, val.targets)
    # The signal head reads the network's own probabilities (as in prediction), never the
    # blend. It only ever sees proteins with annotated signals: predict just those.
    signalled = train.subset([i for i, s in enumerate(train.signals) if s])
    train_probs, train_pooled, _ = predict_dataset(
        model, inputs, signalled, settings.tokens_per_batch
    )
    signal_report = train_signal_head(
        model, (train_probs, train_pooled), signalled, (val_probs, val_pooled), val, settings
    )
    return {
        "thresholds": {o: float(t) for o, t in zip(OUTPUTS, thresholds, strict=True)},
        "signal_thresholds": signal_report.pop("thresholds", {s: 0.5 for s in SIGNALS}),
        "validation": {
            "proteins": len(val),
            "mcc": {o: rounded(m, 4) for o, m in zip(OUTPUTS, val_mcc, strict=True)},
            "label_count": label_count,
        },
        "signal_head": signal_report,
        **peer_config,
    }


def _training_summary(
    settings: TrainSettings, train: Dataset, state: TrainingState, out_of_time: bool
) -> dict[str, Any]:
    """config.json's `training`: how the epochs went, and with which batches and rate."""
    summary: dict[str, Any] = {
        "proteins": len(train),
        "epochs_run": len(state.history),
        "best_epoch": state.best_epoch,
        "early_stopped": state.stopped,
        "tokens_per_batch": settings.tokens_per_batch,
        "batch_proteins": settings.batch_proteins,
        "lr": settings.lr,
        "kl_weight": settings.kl_weight,
        "dct_weight": settings.dct_weight,
        "composition_peer": settings.composition_peer,
        "embeddings": settings.embeddings,
        "history": state.history,
    }
    if settings.max_seconds is not None:
        summary["time_budget_s"] = settings.max_seconds
        summary["stopped_by_time_budget"] = out_of_time
    return summary


__all__ = ["run_train"]
