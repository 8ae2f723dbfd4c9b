"""The epoch loop of one fold: passes over length-sorted batches, early stopping and the
learning-rate schedule on the validation focal BCE, the time budget, and the resume state
saved after every epoch."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from locflow import runtime
from locflow.data.classes import OUTPUTS, SIGNALS
from locflow.models.batches import token_batches
from locflow.models.checkpoint import stored_state
from locflow.models.head import LocModel
from locflow.models.losses import DCT_WEIGHT, KL_WEIGHT, total_loss
from locflow.training.inputs import Inputs
from locflow.training.resume import TrainingState
from locflow.training.settings import TrainSettings
from locflow.training.split import Dataset

log = logging.getLogger(__name__)


def run_epoch(
    model: LocModel,
    inputs: Inputs,
    data: Dataset,
    batches: list[list[int]],
    optimizer: torch.optim.Optimizer | None,
    *,
    kl_weight: float = KL_WEIGHT,
    dct_weight: float = DCT_WEIGHT,
) -> dict[str, float]:
    """One pass; trains when an optimizer is given. Returns protein-weighted mean losses
    (the attention terms unweighted, the total with `kl_weight` and `dct_weight`)."""
    train = optimizer is not None
    model.train(train)
    sums = {"loss": 0.0, "focal": 0.0, "kl": 0.0, "dct": 0.0}
    count = 0
    targets_all = torch.from_numpy(data.targets).to(inputs.device)
    for idx in batches:
        x, mask, batch = inputs.batch(data, idx)
        with torch.set_grad_enabled(train), runtime.autocast(inputs.device):
            out = model(x, mask)
        loss, parts = total_loss(
            out.logits,
            targets_all[idx],
            out.attention,
            out.log_attention,
            out.mask,
            batch.signal_mask,
            kl_weight=kl_weight,
            dct_weight=dct_weight,
        )
        if train:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(
                [p for g in optimizer.param_groups for p in g["params"]], 5.0
            )
            optimizer.step()
        n = len(idx)
        count += n
        sums["loss"] += float(loss.detach()) * n
        for key, value in parts.items():
            sums[key] += value * n
        runtime.advance()
    return {k: v / max(count, 1) for k, v in sums.items()}


@torch.no_grad()
def predict_dataset(
    model: LocModel, inputs: Inputs, data: Dataset, tokens_per_batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (probabilities [N, 11], pooled [N, H], signal probabilities [N, 9])."""
    model.eval()
    lengths = [min(len(s), 2 * (inputs.half or len(s))) for s in data.sequences]
    probs = np.zeros((len(data), len(OUTPUTS)), dtype=np.float32)
    pooled = np.zeros((len(data), model.classifier.in_features), dtype=np.float32)
    sig = np.zeros((len(data), len(SIGNALS)), dtype=np.float32)
    for idx in token_batches(lengths, tokens_per_batch):
        x, mask, _ = inputs.batch(data, idx)
        with runtime.autocast(inputs.device):
            out = model(x, mask)
        probs[idx] = torch.sigmoid(out.logits.float()).cpu().numpy()
        pooled[idx] = out.pooled.float().cpu().numpy()
        sig[idx] = torch.sigmoid(out.signal_logits.float()).cpu().numpy()
    return probs, pooled, sig


def _batches(data: Dataset, settings: TrainSettings) -> list[list[int]]:
    """Length-sorted batches of a split, as the model reads it (clipped)."""
    assert settings.clip_half is not None
    lengths = [min(len(s), 2 * settings.clip_half) for s in data.sequences]
    return token_batches(lengths, settings.tokens_per_batch, settings.batch_proteins)


def train_epochs(
    model: LocModel,
    inputs: Inputs,
    train: Dataset,
    val: Dataset,
    settings: TrainSettings,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: TrainingState,
    save: Callable[[TrainingState], None],
) -> bool:
    """Train from `state` until early stopping, `settings.epochs` or the time budget, keeping
    the best epoch's weights in `state` and calling `save(state)` after every epoch.

    Returns whether the time budget stopped the loop.
    """
    batches, val_batches = _batches(train, settings), _batches(val, settings)
    fold, start = settings.fold, state.epoch
    weights = {"kl_weight": settings.kl_weight, "dct_weight": settings.dct_weight}
    clock = time.perf_counter()
    for epoch in range(start, settings.epochs):
        if state.stopped:
            break
        if settings.max_seconds is not None and epoch > start:
            spent = time.perf_counter() - clock
            # Stop before an epoch that would end past the budget (at the mean epoch time).
            if spent + spent / (epoch - start) > settings.max_seconds:
                log.info("fold %d: time budget reached after %d epochs", fold, epoch)
                return True
        # Seeds derived from (seed, epoch): a resumed run shuffles and drops out exactly as
        # an uninterrupted one would.
        torch.manual_seed(settings.seed * 100_003 + epoch)
        order = np.random.default_rng([settings.seed, epoch]).permutation(len(batches))
        name = f"fold {fold} epoch {epoch + 1}/{settings.epochs}"
        runtime.stage(name, len(batches), "batches")
        tr = run_epoch(model, inputs, train, [batches[i] for i in order], optimizer, **weights)
        runtime.stage(f"{name} validation", len(val_batches), "batches")
        with torch.no_grad():
            va = run_epoch(model, inputs, val, val_batches, None, **weights)
        lr = optimizer.param_groups[0]["lr"]
        # The focal BCE alone decides (DeepLoc 2.0): the attention terms are priors, and
        # a model must not be kept or its LR cut for how its attention looks.
        scheduler.step(va["focal"])
        state.history.append(
            {
                "epoch": epoch + 1,
                "lr": lr,
                **{f"train_{k}": round(v, 5) for k, v in tr.items()},
                **{f"val_{k}": round(v, 5) for k, v in va.items()},
            }
        )
        log.info("fold %d epoch %d: %s", fold, epoch + 1, state.history[-1])
        improved = va["focal"] < state.best_loss - 1e-4
        if improved:
            state.best_loss, state.best_epoch, state.bad_epochs = va["focal"], epoch + 1, 0
            state.best_weights = {k: v.detach().clone() for k, v in stored_state(model).items()}
        else:
            state.bad_epochs += 1
            state.stopped = state.bad_epochs >= settings.patience
        state.epoch = epoch + 1
        save(state)
        runtime.note(
            f"{name}: train loss {tr['loss']:.4f}, validation focal BCE {va['focal']:.4f}"
            f"{' (best)' if improved else ''}, lr {lr:.2g}"
        )
    return False


__all__ = ["predict_dataset", "run_epoch", "train_epochs"]
