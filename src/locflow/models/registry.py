"""Every backbone locflow knows, by name: what it reads, how it is built, its defaults.

Two kinds of backbone feed the same attention-pooled DeepLoc head (locflow.models.head):

- ``tokens``: trained from scratch with the head, on residue tokens (`locflow.models.cnn.encode`);
  no pretrained weights. `cnn` (a dilated residual CNN), `proteinbert` (ProteinBERT's local +
  global tracks) and `birnn` (a PLUS-RNN-style bidirectional recurrent encoder). Their options
  live in the fold config under the backbone's own name (``config["cnn"]`` ...), and
  `BackboneSpec.build` makes the encoder from them.
- ``embeddings``: a pretrained protein language model (`locflow.models.backbones`): frozen, with
  per-residue embeddings stored by `locflow embed` or computed on the fly, or LoRA-tuned.

Training, prediction, evaluation and checkpoints ask this table instead of testing names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from locflow.errors import InputError

TOKENS = "tokens"
EMBEDDINGS = "embeddings"


def _build_cnn(options: Mapping[str, Any]) -> Any:
    from locflow.models.cnn import DilatedResNet

    return DilatedResNet(
        options["channels"], tuple(options["dilations"]), options["kernel"], options["dropout"]
    )


def _build_proteinbert(options: Mapping[str, Any]) -> Any:
    from locflow.models.proteinbert import ProteinBert

    return ProteinBert.from_config(dict(options))


def _build_birnn(options: Mapping[str, Any]) -> Any:
    from locflow.models.birnn import BiRNN

    return BiRNN.from_config(dict(options))


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone: its input kind, how many residues it reads, how it is built."""

    name: str
    inputs: str  # TOKENS or EMBEDDINGS
    clip_half: int  # residues kept at each end of a longer sequence
    summary: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    build: Callable[[Mapping[str, Any]], Any] | None = None

    @property
    def from_scratch(self) -> bool:
        """True for a backbone trained with the head on residue tokens (no pretrained weights)."""
        return self.inputs == TOKENS

    def options(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults updated with `given`; an unknown option is an InputError."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise InputError(
                f"backbone {self.name}: unknown option(s) {', '.join(unknown)} "
                f"(it takes {', '.join(self.defaults)})"
            )
        return {**{k: _copy(v) for k, v in self.defaults.items()}, **given}

    def encoder(self, options: Mapping[str, Any]) -> Any:
        """A freshly initialised encoder module (from-scratch backbones only)."""
        if self.build is None:
            raise ValueError(f"backbone {self.name} is pretrained; load it with load_backbone")
        return self.build(options)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def _specs() -> dict[str, BackboneSpec]:
    from locflow.models.backbones import CLIP_HALF
    from locflow.models.birnn import DEFAULTS as BIRNN_DEFAULTS
    from locflow.models.cnn import CNN_CLIP_HALF
    from locflow.models.proteinbert import DEFAULTS as PROTEINBERT_DEFAULTS

    return {
        "cnn": BackboneSpec(
            "cnn",
            TOKENS,
            CNN_CLIP_HALF,
            "dilated residual CNN on one-hot residues (no pretrained weights)",
            {"channels": 64, "dilations": [1, 2, 4, 8, 16], "kernel": 5, "dropout": 0.1},
            _build_cnn,
        ),
        "proteinbert": BackboneSpec(
            "proteinbert",
            TOKENS,
            CNN_CLIP_HALF,
            "ProteinBERT's local convolutions + global attention track (no pretrained weights)",
            PROTEINBERT_DEFAULTS,
            _build_proteinbert,
        ),
        "birnn": BackboneSpec(
            "birnn",
            TOKENS,
            CNN_CLIP_HALF,
            "PLUS-RNN-style bidirectional GRU/LSTM encoder (no pretrained weights)",
            BIRNN_DEFAULTS,
            _build_birnn,
        ),
        # Pretrained language models, clipped as DeepLoc 2.0 clips them (locflow.models.backbones).
        "esm2": BackboneSpec("esm2", EMBEDDINGS, CLIP_HALF["esm2"], "ESM-2 language model"),
        "esm1b": BackboneSpec("esm1b", EMBEDDINGS, CLIP_HALF["esm1b"], "ESM-1b language model"),
        "prott5": BackboneSpec("prott5", EMBEDDINGS, CLIP_HALF["prott5"], "ProtT5 encoder"),
    }


BACKBONE_SPECS: dict[str, BackboneSpec] = _specs()
"""Every backbone by name, from-scratch ones first."""

SCRATCH_BACKBONES: tuple[str, ...] = tuple(n for n, s in BACKBONE_SPECS.items() if s.from_scratch)
"""The backbones that need no pretrained weights: cnn, proteinbert, birnn."""


def backbone_spec(name: str) -> BackboneSpec:
    """The spec of backbone `name`; InputError naming the known ones otherwise."""
    try:
        return BACKBONE_SPECS[name]
    except KeyError:
        raise InputError(
            f"unknown backbone {name!r} (choose from {', '.join(BACKBONE_SPECS)})"
        ) from None


def count_parameters(module: Any, trainable_only: bool = False) -> int:
    """Number of parameters of a torch module (all, or only those that train)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


__all__ = [
    "BACKBONE_SPECS",
    "EMBEDDINGS",
    "SCRATCH_BACKBONES",
    "TOKENS",
    "BackboneSpec",
    "backbone_spec",
    "count_parameters",
]
