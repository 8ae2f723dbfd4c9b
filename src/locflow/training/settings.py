"""What one fold's training is asked to do (`TrainSettings`, the options of `locflow train`) and
the fold model it describes (`FoldConfig`, the first part of the fold's config.json)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from locflow.data.classes import OUTPUTS, SIGNALS
from locflow.models.losses import DCT_WEIGHT, KL_WEIGHT
from locflow.models.registry import BACKBONE_SPECS, backbone_spec

POOLINGS = ("attention", "mean")
"""attention (DeepLoc 2.0) or mean (a baseline)."""


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
    # Weights of DeepLoc 2.0's two attention terms in the loss (0 turns one off): the KL of
    # the attention to annotated sorting signals and the DCT smoothness prior.
    kl_weight: float = KL_WEIGHT
    dct_weight: float = DCT_WEIGHT
    # Blend a composition logistic regression into the fold's outputs, its weight chosen on
    # the validation fold (locflow.training.peer); fitted after the epochs, so not part of the
    # resume fingerprint.
    composition_peer: bool = False
    clip_half: int | None = None
    # Options of the from-scratch backbones (locflow.models.registry), one dict per backbone;
    # only the chosen backbone's is used and stored in the fold config under its name.
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


def default_clip_half(backbone: str) -> int:
    """Residues kept at each end of long sequences for a backbone (locflow.models.registry)."""
    return backbone_spec(backbone).clip_half


@dataclass
class FoldConfig:
    """One fold model: its architecture and the split it is trained on.

    This is what the model is built from and what the fold's config.json starts with; the
    training's results (thresholds, validation, history, training data) follow it there.
    """

    backbone: str
    checkpoint: str | None
    lora: bool
    lora_rank: int
    pooling: str
    hidden: int
    clip_half: int
    fold: int
    validation_fold: int
    folds: int
    seed: int
    # A from-scratch backbone's options, stored under the backbone's name (config["cnn"]).
    backbone_options: dict[str, Any] | None = None
    # Width of the residue vectors the head reads; known once the inputs or the model are.
    dim: int | None = None

    @classmethod
    def of(cls, settings: TrainSettings, folds: int) -> FoldConfig:
        """The fold model settled `settings` describe (clipping and validation fold decided),
        trained on a folds table of `folds` folds."""
        assert settings.clip_half is not None and settings.validation_fold is not None
        # Every field the two share comes from the settings; the rest is the data's.
        shared = {f.name for f in fields(cls)} & {f.name for f in fields(settings)}
        return cls(
            **{name: getattr(settings, name) for name in shared},
            folds=folds,
            backbone_options=settings.backbone_options(),
        )

    def as_dict(self) -> dict[str, Any]:
        """The model part of config.json, with its keys in the order model folders have them."""
        config: dict[str, Any] = {
            "backbone": self.backbone,
            "checkpoint": self.checkpoint,
            "lora": self.lora,
            "lora_rank": self.lora_rank,
            "pooling": self.pooling,
            "hidden": self.hidden,
            "clip_half": self.clip_half,
            "outputs": list(OUTPUTS),
            "signals": list(SIGNALS),
            "fold": self.fold,
            "validation_fold": self.validation_fold,
            "folds": self.folds,
            "seed": self.seed,
        }
        if self.backbone_options is not None:
            config[self.backbone] = self.backbone_options
        if self.dim is not None:
            config["dim"] = self.dim
        return config


__all__ = ["POOLINGS", "FoldConfig", "TrainSettings", "default_clip_half"]
