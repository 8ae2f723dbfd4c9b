"""Train one cross-validation fold (docs/model.md).

Fold K is the test fold and is never read; a different whole fold V (default (K + 1) mod k)
validates: early stopping, the learning-rate schedule and the best epoch (all on the validation
focal BCE alone, as in DeepLoc 2.0, not on the total loss with its attention terms), per-output
MCC thresholds and the signal head's stopping point all use it. Training is seeded and
resumable: the state after every epoch goes to `fold<K>/resume.pt`, and a rerun (possibly with
more --epochs) continues.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from locflow.data.classes import LOCATIONS, OUTPUTS, SIGNALS
from locflow.data.tables import read_folds, read_proteins
from locflow.errors import InputError
from locflow.metrics import threshold_curve
from locflow.models.batches import Batch, make_batch, token_batches
from locflow.models.checkpoint import (
    TRAINING_DATA,
    build_model,
    input_kind,
    load_resume,
    load_weights,
    save_fold,
    save_resume,
    stored_state,
    training_record,
    write_ensemble,
)
from locflow.models.head import LocModel
from locflow.models.losses import signal_bce, total_loss
from locflow.models.registry import BACKBONE_SPECS, backbone_spec
from locflow.runtime import autocast, resolve_device

log = logging.getLogger(__name__)

THRESHOLD_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)
# Logit offsets tried on the ten location thresholds so that the number of predicted labels
# tracks the true number on the validation fold (`count_matched_thresholds`).
OFFSET_GRID = np.round(np.arange(-4.0, 4.0001, 0.01), 2)


@dataclass
class TrainSettings:
    """Options of `locflow train` (see the CLI help for each)."""

    fold: int
    backbone: str = "cnn"
    validation_fold: int | None = None
    embeddings: str | None = None
    checkpoint: str | None = None
    lora: bool = False
    lora_rank: int = 4
    pooling: str = "attention"
    epochs: int = 14
    tokens_per_batch: int = 16384
    seed: int = 0
    device: str = "auto"
    lr: float = 1e-3
    min_lr: float = 1e-5
    # DeepLoc 2.0: stop after 5 epochs without a better validation focal BCE, cut the LR
    # after 2 (ReduceLROnPlateau patience 1), at most 128 proteins per batch.
    patience: int = 5
    lr_patience: int = 1
    batch_proteins: int = 128
    hidden: int = 256
    clip_half: int | None = None
    # Options of the from-scratch backbones (locflow.models.registry), one dict per backbone; only
    # the chosen backbone's is used and stored in the fold config under its name.
    cnn: dict[str, Any] = field(default_factory=lambda: BACKBONE_SPECS["cnn"].options())
    proteinbert: dict[str, Any] = field(
        default_factory=lambda: BACKBONE_SPECS["proteinbert"].options()
    )
    birnn: dict[str, Any] = field(default_factory=lambda: BACKBONE_SPECS["birnn"].options())
    signal_epochs: int = 200
    # Time budget: no new epoch starts once this many seconds of training have passed or the
    # next epoch would end past them (None: no budget). Not part of the resume fingerprint.
    max_seconds: float | None = None

    def backbone_options(self) -> dict[str, Any] | None:
        """The chosen from-scratch backbone's options (its defaults filled in), else None."""
        spec = backbone_spec(self.backbone)
        if not spec.from_scratch:
            return None
        return spec.options(getattr(self, spec.name))


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


def default_clip_half(backbone: str) -> int:
    """Residues kept at each end of long sequences for a backbone (locflow.models.registry)."""
    return backbone_spec(backbone).clip_half


class Inputs:
    """Turns a list of proteins into a model-ready batch for any backbone kind."""

    def __init__(self, config: dict[str, Any], device: torch.device, settings: TrainSettings):
        self.kind = input_kind(config)
        self.half = config["clip_half"]
        self.device = device
        self.store = None
        self.frozen = None
        # Token batches built once and reused every epoch (the batches are fixed, only their
        # order changes): building them costs about as much as a GPU step. Keyed by the
        # dataset, which the cache also holds so that its id cannot be reused.
        self._cache: dict[int, tuple[Dataset, dict[tuple[int, ...], Batch]]] = {}
        if self.kind == "features":
            if settings.embeddings:
                from locflow.models.embed import EmbeddingStore

                self.store = EmbeddingStore(settings.embeddings)
            else:
                # No stored embeddings: run the frozen backbone on every batch (slow; `locflow
                # embed` once and --embeddings is the fast path).
                from locflow.models.backbones import load_backbone

                self.frozen = load_backbone(
                    settings.backbone, settings.checkpoint, device, torch.float32
                )

    def dim(self) -> int | None:
        """Embedding width when features come from outside the model."""
        if self.frozen is not None:
            return int(self.frozen.dim)
        return None

    def check(self, data: Dataset, what: str) -> None:
        """Every protein must have stored embeddings."""
        if self.store is None:
            return
        for pid, seq in zip(data.ids, data.sequences, strict=True):
            if seq not in self.store:
                raise InputError(f"embeddings file lacks {what} protein {pid}; run locflow embed")

    def batch(self, data: Dataset, idx: list[int]) -> tuple[Any, torch.Tensor, Batch]:
        """Return (model inputs, mask, batch) for the proteins at `idx`."""
        seqs = [data.sequences[i] for i in idx]
        sigs = [data.signals[i] for i in idx]
        if self.store is not None:
            feats = [self.store.get(s) for s in seqs]
            batch = make_batch("features", seqs, half=self.half, features=feats, signals=sigs)
        elif self.frozen is not None:
            batch = make_batch("sequences", seqs, half=self.half, signals=sigs)
        else:
            cached = self._cache.setdefault(id(data), (data, {}))[1]
            batch = cached.get(tuple(idx))
            if batch is None:
                batch = make_batch(self.kind, seqs, half=self.half, signals=sigs)
                cached[tuple(idx)] = batch
        batch = batch.to(self.device)
        if self.frozen is not None:
            with torch.no_grad():
                hidden, mask = self.frozen.forward(batch.inputs)
            return hidden.float(), mask.bool(), batch
        return batch.inputs, batch.mask, batch


def _run_epoch(
    model: LocModel,
    inputs: Inputs,
    data: Dataset,
    batches: list[list[int]],
    optimizer: torch.optim.Optimizer | None,
    progress: Any = None,
) -> dict[str, float]:
    """One pass; trains when an optimizer is given. Returns protein-weighted mean losses."""
    train = optimizer is not None
    model.train(train)
    sums = {"loss": 0.0, "focal": 0.0, "kl": 0.0, "dct": 0.0}
    count = 0
    targets_all = torch.from_numpy(data.targets).to(inputs.device)
    for idx in batches:
        x, mask, batch = inputs.batch(data, idx)
        with torch.set_grad_enabled(train), autocast(inputs.device):
            out = model(x, mask)
        loss, parts = total_loss(
            out.logits,
            targets_all[idx],
            out.attention,
            out.log_attention,
            out.mask,
            batch.signal_mask,
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
        if progress is not None:
            progress()
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
        with autocast(inputs.device):
            out = model(x, mask)
        probs[idx] = torch.sigmoid(out.logits.float()).cpu().numpy()
        pooled[idx] = out.pooled.float().cpu().numpy()
        sig[idx] = torch.sigmoid(out.signal_logits.float()).cpu().numpy()
    return probs, pooled, sig


def mcc_thresholds(probs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-output thresholds maximizing MCC on (validation) predictions, and the MCC reached.

    Outputs with only one label value in the data keep 0.5 (MCC is undefined there).
    """
    thresholds = np.full(probs.shape[1], 0.5)
    best = np.full(probs.shape[1], np.nan)
    for j in range(probs.shape[1]):
        y = targets[:, j] > 0.5
        if y.all() or not y.any():
            continue
        # One vectorised pass over the grid (same values as sklearn's matthews_corrcoef).
        scores = threshold_curve(y, probs[:, j], THRESHOLD_GRID)["mcc"]
        k = int(np.argmax(scores))
        thresholds[j], best[j] = THRESHOLD_GRID[k], scores[k]
    return thresholds, best


def count_matched_thresholds(
    probs: np.ndarray, targets: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """Shift the ten location thresholds by one common logit offset so that the mean number of
    locations predicted per protein (with the predictor rule: the closest location when none
    reaches its threshold) is the mean true number on these (validation) proteins.

    Per-location MCC thresholds are each optimal alone, but together they over-call: a weak
    class's best MCC sits at a low threshold, and every such class adds labels (on DeepLoc's
    fold 0 a cnn predicted 1.91 locations per protein where proteins have 1.32), which is
    what keeps exact-match accuracy low. One offset keeps the classes' order of strictness and
    fixes the total. Ties go to the smallest shift; the membrane threshold is left alone.
    Returns the new thresholds (all outputs) and what was chosen.
    """
    from locflow.models.head import probabilities_to_labels

    locs = len(LOCATIONS)
    true = targets[:, :locs] > 0.5
    true_mean = float(true.sum(1).mean())
    base = np.clip(np.asarray(thresholds[:locs], dtype=np.float64), 1e-4, 1 - 1e-4)
    logits = np.log(base / (1 - base))

    def shifted(offset: float) -> np.ndarray:
        return np.clip(1 / (1 + np.exp(-(logits + offset))), 0.001, 0.999)

    def mean_count(t: np.ndarray) -> float:
        return float(probabilities_to_labels(probs[:, :locs], t).sum(1).mean())

    before = mean_count(base)
    best = min(OFFSET_GRID, key=lambda d: (abs(mean_count(shifted(d)) - true_mean), abs(d)))
    out = np.asarray(thresholds, dtype=np.float64).copy()
    out[:locs] = np.round(shifted(float(best)), 4)
    report = {
        "rule": "per-location MCC thresholds, then one logit offset on all ten so that the "
        "mean number of predicted locations matches the true mean on the validation fold",
        "logit_offset": float(best),
        "true_labels_per_protein": round(true_mean, 4),
        "predicted_labels_per_protein_mcc": round(before, 4),
        "predicted_labels_per_protein": round(mean_count(out[:locs]), 4),
    }
    return out, report


def choose_thresholds(
    probs: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """locflow's threshold rule on validation predictions: per-output MCC thresholds
    (`mcc_thresholds`), then the location thresholds shifted together so that the predicted
    label count tracks the true one (`count_matched_thresholds`). Returns (thresholds, the
    validation MCC at them (NaN where one label value only), the count report)."""
    thresholds, best = mcc_thresholds(probs, targets)
    thresholds, report = count_matched_thresholds(probs, targets, thresholds)
    mcc = best.copy()
    for j in np.flatnonzero(~np.isnan(best)):
        mcc[j] = threshold_curve(targets[:, j] > 0.5, probs[:, j], thresholds[j : j + 1])["mcc"][0]
    return thresholds, mcc, report


def _signal_targets(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Rows with any annotated signal, and their 9-type presence matrix."""
    has = np.array([bool(s) for s in data.signals])
    y = np.zeros((len(data), len(SIGNALS)), dtype=np.float32)
    for i, spans in enumerate(data.signals):
        for sp in spans:
            y[i, SIGNALS.index(sp["type"])] = 1.0
    return has, y


def train_signal_head(
    model: LocModel,
    train_feats: tuple[np.ndarray, np.ndarray],
    train_data: Dataset,
    val_feats: tuple[np.ndarray, np.ndarray],
    val_data: Dataset,
    settings: TrainSettings,
) -> dict[str, Any]:
    """Second stage: fit the signal head on signal-annotated proteins, the rest frozen.

    Like DeepLoc 2.0, only proteins with at least one annotated signal are used (an absent
    annotation is unknown, not negative), and the BCE weighs positives by DeepLoc's per-type
    weights (`locflow.models.losses.signal_bce`). Full-batch Adam with early stopping on validation.
    """
    has_tr, y_tr = _signal_targets(train_data)
    has_va, y_va = _signal_targets(val_data)
    report: dict[str, Any] = {
        "trained": False,
        "train": int(has_tr.sum()),
        "val": int(has_va.sum()),
    }
    if has_tr.sum() < 2 or has_va.sum() < 1:
        return report
    device = next(model.parameters()).device
    head = model.signal_head
    torch.manual_seed(settings.seed)

    def tensors(feats: tuple[np.ndarray, np.ndarray], has: np.ndarray) -> list[torch.Tensor]:
        probs, pooled = feats
        return [torch.from_numpy(a[has]).to(device) for a in (pooled, probs)]

    xtr, ytr = tensors(train_feats, has_tr), torch.from_numpy(y_tr[has_tr]).to(device)
    xva, yva = tensors(val_feats, has_va), torch.from_numpy(y_va[has_va]).to(device)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    best, best_state, bad = float("inf"), copy.deepcopy(head.state_dict()), 0
    for _ in range(settings.signal_epochs):
        head.train()
        opt.zero_grad()
        signal_bce(head(*xtr), ytr).backward()
        opt.step()
        head.eval()
        with torch.no_grad():
            val = float(signal_bce(head(*xva), yva))
        if val < best - 1e-5:
            best, best_state, bad = val, copy.deepcopy(head.state_dict()), 0
        else:
            bad += 1
            if bad >= 20:
                break
    head.load_state_dict(best_state)
    with torch.no_grad():
        p_va = torch.sigmoid(head(*xva)).cpu().numpy()
    thresholds, mcc = mcc_thresholds(p_va, y_va[has_va])
    report.update(
        trained=True,
        val_loss=best,
        thresholds={s: float(t) for s, t in zip(SIGNALS, thresholds, strict=True)},
        val_mcc={s: _num(m) for s, m in zip(SIGNALS, mcc, strict=True)},
    )
    return report


def _num(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 4)


# The settings that must match for a resume to be valid (epochs may grow).
_RESUME_KEYS = (
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
    "clip_half",
    "cnn",
)


def _data_fingerprint(record: dict[str, Any]) -> dict[str, str]:
    """The part of a training record a resume state keeps: table and id-set sha256s."""
    return {
        "proteins_table": record["proteins_table"]["sha256"],
        "folds_table": record["folds_table"]["sha256"],
        "train_ids": record["train"]["sha256"],
        "validation_ids": record["validation"]["sha256"],
    }


def _check_resume_data(
    folder: Path, stored: dict[str, str] | None, current: dict[str, str]
) -> None:
    """Refuse to resume on other data than the interrupted run read."""
    if stored is None:
        raise InputError(
            f"{folder / 'resume.pt'}: resume state does not record the tables it was trained "
            "on, so resuming could mix data; delete resume.pt to start over"
        )
    changed = sorted(k for k in current if stored.get(k) != current[k])
    if changed:
        raise InputError(
            f"{folder / 'resume.pt'}: resume state was made with other data "
            f"({', '.join(changed)} changed); use another --out or delete resume.pt"
        )


def train_fold(
    proteins: str | Path,
    folds: str | Path,
    out: str | Path,
    settings: TrainSettings,
    *,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Train fold `settings.fold`; write `out/fold<K>/` and update `out/ensemble.json`.

    Returns the fold's config (as written to config.json).
    """
    device = resolve_device(settings.device)
    train, val, val_fold, k = load_split(proteins, folds, settings.fold, settings.validation_fold)
    settings = copy.deepcopy(settings)
    settings.validation_fold = val_fold
    spec = backbone_spec(settings.backbone)
    if settings.embeddings and not settings.lora and not spec.from_scratch:
        _match_store(settings)
    if settings.clip_half is None:
        settings.clip_half = default_clip_half(settings.backbone)
    if settings.lora and spec.from_scratch:
        raise InputError(
            f"--lora applies to transformer backbones, not {settings.backbone} (trained from "
            "scratch)"
        )
    if settings.checkpoint and Path(settings.checkpoint).exists():
        settings.checkpoint = str(Path(settings.checkpoint).resolve())
    folder = Path(out) / f"fold{settings.fold}"

    config: dict[str, Any] = {
        "backbone": settings.backbone,
        "checkpoint": settings.checkpoint,
        "lora": settings.lora,
        "lora_rank": settings.lora_rank,
        "pooling": settings.pooling,
        "hidden": settings.hidden,
        "clip_half": settings.clip_half,
        "outputs": list(OUTPUTS),
        "signals": list(SIGNALS),
        "fold": settings.fold,
        "validation_fold": val_fold,
        "folds": k,
        "seed": settings.seed,
    }
    options = settings.backbone_options()
    if options is not None:
        config[spec.name] = options
        config["dim"] = int(spec.encoder(options).dim)
    inputs = Inputs(config, device, settings)
    inputs.check(train, "training")
    inputs.check(val, "validation")
    if inputs.kind == "features":
        config["dim"] = _feature_dim(inputs, train, settings)
    torch.manual_seed(settings.seed)
    model = build_model(config, device)
    if inputs.kind == "sequences":
        config["dim"] = int(model.encoder.backbone.dim)

    params = [
        p
        for n, p in model.named_parameters()
        if p.requires_grad and not n.startswith("signal_head.")
    ]
    optimizer = torch.optim.AdamW(params, lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.1, patience=settings.lr_patience, min_lr=settings.min_lr
    )
    fingerprint = {key: asdict(settings)[key] for key in _RESUME_KEYS}
    if options is not None and spec.name not in fingerprint:
        fingerprint[spec.name] = options
    # The data this run reads, by the same record config.json keeps: a resume must continue
    # on the very tables (and so the very training and validation proteins) it started with.
    record = training_record(proteins, folds, train.ids, val.ids)
    data_print = _data_fingerprint(record)
    state = load_resume(folder)
    history: list[dict[str, Any]] = []
    best_loss, best_epoch, bad_epochs, stopped, start = float("inf"), 0, 0, False, 0
    best_weights = {k_: v.clone() for k_, v in stored_state(model).items()}
    if state is not None:
        if state["settings"] != fingerprint:
            changed = sorted(
                k_ for k_ in fingerprint if state["settings"].get(k_) != fingerprint[k_]
            )
            raise InputError(
                f"{folder}: resume state was made with other settings ({', '.join(changed)}); "
                "use another --out or delete resume.pt"
            )
        _check_resume_data(folder, state.get("data"), data_print)
        load_weights(model, state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, best_loss = list(state["history"]), float(state["best_loss"])
        bad_epochs, stopped, start = (
            int(state["bad_epochs"]),
            bool(state["stopped"]),
            state["epoch"],
        )
        best_epoch = int(state.get("best_epoch", 0))
        best_weights = state["best"]
        log.info("fold %d: resuming after epoch %d", settings.fold, start)

    lengths = [min(len(s), 2 * settings.clip_half) for s in train.sequences]
    batches = token_batches(lengths, settings.tokens_per_batch, settings.batch_proteins)
    val_lengths = [min(len(s), 2 * settings.clip_half) for s in val.sequences]
    val_batches = token_batches(val_lengths, settings.tokens_per_batch, settings.batch_proteins)

    progress = _progress(show_progress)
    clock, out_of_time = time.perf_counter(), False
    with progress:
        for epoch in range(start, settings.epochs):
            if stopped:
                break
            if settings.max_seconds is not None and epoch > start:
                spent = time.perf_counter() - clock
                # Stop before an epoch that would end past the budget (at the mean epoch time).
                if spent + spent / (epoch - start) > settings.max_seconds:
                    out_of_time = True
                    log.info("fold %d: time budget reached after %d epochs", settings.fold, epoch)
                    break
            # Seeds derived from (seed, epoch): a resumed run shuffles and drops out exactly as
            # an uninterrupted one would.
            torch.manual_seed(settings.seed * 100_003 + epoch)
            order = np.random.default_rng([settings.seed, epoch]).permutation(len(batches))
            task = progress.add_task(f"fold {settings.fold} epoch {epoch + 1}", total=len(batches))
            tr = _run_epoch(
                model,
                inputs,
                train,
                [batches[i] for i in order],
                optimizer,
                lambda t=task: progress.advance(t),
            )
            with torch.no_grad():
                va = _run_epoch(model, inputs, val, val_batches, None)
            lr = optimizer.param_groups[0]["lr"]
            # The focal BCE alone decides (DeepLoc 2.0): the attention terms are priors, and
            # a model must not be kept or its LR cut for how its attention looks.
            scheduler.step(va["focal"])
            history.append(
                {
                    "epoch": epoch + 1,
                    "lr": lr,
                    **{f"train_{k_}": round(v, 5) for k_, v in tr.items()},
                    **{f"val_{k_}": round(v, 5) for k_, v in va.items()},
                }
            )
            log.info("fold %d epoch %d: %s", settings.fold, epoch + 1, history[-1])
            if va["focal"] < best_loss - 1e-4:
                best_loss, best_epoch, bad_epochs = va["focal"], epoch + 1, 0
                best_weights = {k_: v.detach().clone() for k_, v in stored_state(model).items()}
            else:
                bad_epochs += 1
                stopped = bad_epochs >= settings.patience
            save_resume(
                folder,
                {
                    "settings": fingerprint,
                    "data": data_print,
                    "epoch": epoch + 1,
                    "model": {k_: v.detach().cpu() for k_, v in stored_state(model).items()},
                    "best": {k_: v.cpu() for k_, v in best_weights.items()},
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "history": history,
                    "best_loss": best_loss,
                    "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs,
                    "stopped": stopped,
                },
            )

    # Final model: best epoch's weights, thresholds and signal head fitted on validation.
    load_weights(model, {k_: v.to(device) for k_, v in best_weights.items()})
    val_probs, val_pooled, _ = predict_dataset(model, inputs, val, settings.tokens_per_batch)
    thresholds, val_mcc, label_count = choose_thresholds(val_probs, val.targets)
    # The signal head only ever sees proteins with annotated signals: predict just those.
    signalled = train.subset([i for i, s in enumerate(train.signals) if s])
    train_probs, train_pooled, _ = predict_dataset(
        model, inputs, signalled, settings.tokens_per_batch
    )
    signal_report = train_signal_head(
        model, (train_probs, train_pooled), signalled, (val_probs, val_pooled), val, settings
    )
    config.update(
        thresholds={o: float(t) for o, t in zip(OUTPUTS, thresholds, strict=True)},
        signal_thresholds=signal_report.pop("thresholds", {s: 0.5 for s in SIGNALS}),
        validation={
            "proteins": len(val),
            "mcc": {o: _num(m) for o, m in zip(OUTPUTS, val_mcc, strict=True)},
            "label_count": label_count,
        },
        signal_head=signal_report,
        training={
            "proteins": len(train),
            "epochs_run": len(history),
            "best_epoch": best_epoch,
            "early_stopped": stopped,
            "tokens_per_batch": settings.tokens_per_batch,
            "batch_proteins": settings.batch_proteins,
            "lr": settings.lr,
            "embeddings": settings.embeddings,
            "history": history,
        },
    )
    if settings.max_seconds is not None:
        config["training"]["time_budget_s"] = settings.max_seconds
        config["training"]["stopped_by_time_budget"] = out_of_time
    # What this model saw: evaluation refuses to score these proteins with it.
    config[TRAINING_DATA] = record
    save_fold(folder, model, config)
    write_ensemble(out)
    return config


def _match_store(settings: TrainSettings) -> None:
    """Stored embeddings fix the backbone and the clipping; a mismatch is an input error."""
    from locflow.models.embed import EmbeddingStore

    store = EmbeddingStore(settings.embeddings)
    if store.backbone != settings.backbone:
        raise InputError(
            f"{settings.embeddings}: embeddings of {store.backbone}, not --backbone "
            f"{settings.backbone}"
        )
    if settings.clip_half not in (None, store.clip_half):
        raise InputError(
            f"{settings.embeddings}: embeddings clipped at {store.clip_half}, "
            f"not {settings.clip_half}"
        )
    settings.clip_half = store.clip_half
    store.close()


def _feature_dim(inputs: Inputs, data: Dataset, settings: TrainSettings) -> int:
    dim = inputs.dim()
    if dim is not None:
        return dim
    if inputs.store is not None:
        return int(inputs.store.get(data.sequences[0]).shape[1])
    raise InputError(f"backbone {settings.backbone}: cannot tell the embedding width")


def _progress(show: bool) -> Any:
    """A rich progress bar when asked for, else a do-nothing stand-in."""
    if show:
        from rich.progress import Progress

        return Progress(transient=True)

    class _Quiet:
        def __enter__(self) -> _Quiet:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def add_task(self, *args: Any, **kwargs: Any) -> int:
            return 0

        def advance(self, *args: Any) -> None:
            return None

    return _Quiet()


__all__ = [
    "TrainSettings",
    "Dataset",
    "load_split",
    "train_fold",
    "predict_dataset",
    "mcc_thresholds",
    "count_matched_thresholds",
    "choose_thresholds",
    "train_signal_head",
    "default_clip_half",
]
