"""Resuming a fold's training after a kill: the state saved after every epoch (`resume.pt` in
the fold folder), and the checks that a saved state belongs to this very run (the same
settings and the same data), so that a rerun continues exactly where the last one stopped."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from locflow.errors import InputError, ParameterError
from locflow.models.checkpoint import load_resume, load_weights, stored_state
from locflow.models.head import LocModel
from locflow.training.settings import TrainSettings

log = logging.getLogger(__name__)

RESUME_KEYS = (
    "fold",
    "backbone",
    "validation_fold",
    "checkpoint",
    "lora",
    "lora_rank",
    "pooling",
    "tokens_per_batch",
    "batch_proteins",
    "seed",
    "lr",
    "hidden",
    "kl_weight",
    "dct_weight",
    "clip_half",
    "cnn",
)
"""The settings that must match for a resume to be valid (epochs may grow)."""


def settings_fingerprint(settings: TrainSettings) -> dict[str, Any]:
    """The settings a resume state keeps: RESUME_KEYS and the backbone's own options."""
    values = asdict(settings)
    fingerprint = {key: values[key] for key in RESUME_KEYS}
    options = settings.backbone_options()
    if options is not None and settings.backbone not in fingerprint:
        fingerprint[settings.backbone] = options
    return fingerprint


def data_fingerprint(record: dict[str, Any]) -> dict[str, str]:
    """The part of a training record a resume state keeps: table and id-set sha256s."""
    return {
        "proteins_table": record["proteins_table"]["sha256"],
        "folds_table": record["folds_table"]["sha256"],
        "train_ids": record["train"]["sha256"],
        "validation_ids": record["validation"]["sha256"],
    }


def check_resume_data(folder: Path, stored: dict[str, str] | None, current: dict[str, str]) -> None:
    """Refuse to resume on other data than the interrupted run read."""
    if stored is None:
        raise InputError(
            f"{folder / 'resume.pt'}: resume state does not record the tables it was trained "
            "on, so resuming could mix data; delete resume.pt to start over"
        )
    changed = sorted(k for k in current if stored.get(k) != current[k])
    if changed:
        raise ParameterError(
            f"{folder / 'resume.pt'}: resume state was made with other data "
            f"({', '.join(changed)} changed); use another `out` or delete resume.pt"
        )


@dataclass
class TrainingState:
    """Where the epoch loop stands: what the next epoch continues from, and a resume too."""

    best_weights: dict[str, torch.Tensor]  # the stored weights of the best epoch so far
    epoch: int = 0  # epochs finished
    history: list[dict[str, Any]] = field(default_factory=list)
    best_loss: float = float("inf")  # validation focal BCE of the best epoch
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs since the best one
    stopped: bool = False  # early stopping ended the loop

    def saved(
        self,
        settings_print: dict[str, Any],
        data_print: dict[str, str],
        model: LocModel,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
    ) -> dict[str, Any]:
        """The resume state to save after an epoch (the layout of resume.pt)."""
        return {
            "settings": settings_print,
            "data": data_print,
            "epoch": self.epoch,
            "model": {k: v.detach().cpu() for k, v in stored_state(model).items()},
            "best": {k: v.cpu() for k, v in self.best_weights.items()},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "history": self.history,
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "stopped": self.stopped,
        }


def resume_or_start(
    folder: Path,
    model: LocModel,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    settings_print: dict[str, Any],
    data_print: dict[str, str],
) -> TrainingState:
    """The state an interrupted run of this fold saved, loaded into the model, optimizer and
    scheduler; a fresh state when there is none. Another run's state is an InputError."""
    fresh = {k: v.clone() for k, v in stored_state(model).items()}
    state = load_resume(folder)
    if state is None:
        return TrainingState(best_weights=fresh)
    if state["settings"] != settings_print:
        changed = sorted(k for k in settings_print if state["settings"].get(k) != settings_print[k])
        raise ParameterError(
            f"{folder}: resume state was made with other settings ({', '.join(changed)}); "
            "use another `out` or delete resume.pt"
        )
    check_resume_data(folder, state.get("data"), data_print)
    load_weights(model, state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    log.info("fold %d: resuming after epoch %d", settings_print["fold"], state["epoch"])
    return TrainingState(
        best_weights=state["best"],
        epoch=state["epoch"],
        history=list(state["history"]),
        best_loss=float(state["best_loss"]),
        best_epoch=int(state.get("best_epoch", 0)),
        bad_epochs=int(state["bad_epochs"]),
        stopped=bool(state["stopped"]),
    )


__all__ = [
    "RESUME_KEYS",
    "TrainingState",
    "check_resume_data",
    "data_fingerprint",
    "resume_or_start",
    "settings_fingerprint",
]
