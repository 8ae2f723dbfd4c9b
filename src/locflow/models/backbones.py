"""Pretrained protein language models as per-residue encoders: ESM-2, ESM-1b and ProtT5.

A `Backbone` takes normalised residue strings (see `locflow.data.sequences`) and returns exactly one
vector per residue: special tokens (ESM's <cls>/<eos>, T5's </s>) are removed and residue i of
a sequence is always row i of its output. Letters a vocabulary lacks are replaced one for one
(never dropped), so positions cannot shift:

- ESM (`esm2`, `esm1b`): J becomes X (the ESM alphabet has no J);
- ProtT5 (`prott5`): U, Z, O, B and J become X (ProtT5's published convention), residues are
  space-separated for its SentencePiece vocabulary.

Weights come from a local folder (config.json + weights + tokenizer files, as written by
`save_pretrained`); a hub id is used only when the caller passes one that is not a local path.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from locflow.errors import InputError, ParameterError
from locflow.runtime import resolve_device

log = logging.getLogger(__name__)

BACKBONES: tuple[str, ...] = ("esm2", "esm1b", "prott5")

# Residues kept at each end of a long sequence (DeepLoc 2.0: 1022 tokens for ESM, 4000 for T5).
CLIP_HALF: dict[str, int] = {"esm2": 511, "esm1b": 511, "prott5": 2000}

# The ESM alphabet in token-id order (fair-esm's and the Hugging Face ESM vocab.txt).
ESM_ALPHABET: tuple[str, ...] = (
    "<cls>", "<pad>", "<eos>", "<unk>",
    "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F", "Y", "M", "H",
    "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>",
)  # fmt: skip

# ProtT5's SentencePiece vocabulary: <pad> 0, </s> 1, <unk> 2, then these residues as "▁A"..
# (ids 3-27, by frequency), then <extra_id_99>..<extra_id_0> (ids 28-127). Real checkpoints bring
# their own tokenizer; this order is used only by `build_model` for randomly initialised models.
PROTT5_RESIDUES = "ALGVSREDTIPKFQNYMHWCXBOUZ"

_TRANSLATE = {
    "esm2": str.maketrans("J", "X"),
    "esm1b": str.maketrans("J", "X"),
    "prott5": str.maketrans("UZOBJ", "XXXXX"),
}

# Published shapes, for benchmarks and randomly initialised stand-ins (no weights needed).
SHAPES: dict[str, dict[str, Any]] = {
    "esm2-8m": {"backbone": "esm2", "layers": 6, "hidden": 320, "heads": 20, "ffn": 1280},
    "esm2-35m": {"backbone": "esm2", "layers": 12, "hidden": 480, "heads": 20, "ffn": 1920},
    "esm2-650m": {"backbone": "esm2", "layers": 33, "hidden": 1280, "heads": 20, "ffn": 5120},
    "esm1b": {"backbone": "esm1b", "layers": 33, "hidden": 1280, "heads": 20, "ffn": 5120},
    # ProtT5-XL's encoder: 32 heads of width 128 (4096 wide attention on a 1024 model).
    "prott5": {
        "backbone": "prott5",
        "layers": 24,
        "hidden": 1024,
        "heads": 32,
        "ffn": 16384,
        "kv": 128,
    },
}

DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


def _family(name: str) -> str:
    """'esm' or 't5'; InputError for an unknown backbone name."""
    if name not in BACKBONES:
        raise InputError(f"unknown backbone {name!r} (choose from {', '.join(BACKBONES)})")
    return "t5" if name == "prott5" else "esm"


def clip_indices(length: int, half: int | None) -> np.ndarray:
    """Residue positions kept: all when length <= 2*half (or no `half`), else the first and
    last `half`. The one clipping rule of embeddings, training and prediction."""
    if half is None or length <= 2 * half:
        return np.arange(length, dtype=np.int64)
    return np.concatenate([np.arange(half), np.arange(length - half, length)]).astype(np.int64)


def clip_sequence(sequence: str, half: int | None) -> str:
    """The residues `clip_indices` keeps, as a string (what the backbone actually sees)."""
    if half is None or len(sequence) <= 2 * half:
        return sequence
    return sequence[:half] + sequence[-half:]


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """Compute precision: 'auto' is bf16 where the hardware runs it natively, else fp16 on
    older GPUs and fp32 on CPUs without bf16 instructions."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        # CPUs with AVX512-BF16 or AMX run bf16 matrix products about twice as fast as fp32.
        return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else torch.float32
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r} (choose from auto, {', '.join(DTYPES)})")
    return DTYPES[dtype]


class Backbone(nn.Module):
    """A transformer encoder with its tokenizer: residue strings in, one vector per residue out.

    `layer` indexes the model's hidden states like Hugging Face's `hidden_states` tuple
    (0 is the embedding layer, -1 the last layer, after ESM's final layer norm).
    """

    def __init__(
        self, name: str, model: nn.Module, tokenizer: Any, *, checkpoint: str = "", layer: int = -1
    ) -> None:
        super().__init__()
        self.family = _family(name)
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.checkpoint = checkpoint
        self.layer = layer
        # ESM puts <cls> before the residues; both families end with one end-of-sequence token.
        self.prefix = 1 if self.family == "esm" else 0
        self.specials = self.prefix + 1
        self.unk_id = tokenizer.unk_token_id

    @property
    def dim(self) -> int:
        """Width of the per-residue vectors."""
        config = self.model.config
        return int(config.d_model if self.family == "t5" else config.hidden_size)

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Precision of the weights."""
        return next(self.model.parameters()).dtype

    @property
    def max_residues(self) -> int | None:
        """Longest sequence the position embeddings allow (None: relative/rotary positions)."""
        config = self.model.config
        if self.family == "esm" and config.position_embedding_type == "absolute":
            return int(config.max_position_embeddings) - 2 - self.specials
        return None

    def prepare(self, sequence: str) -> str:
        """Map letters the vocabulary lacks to X and format for the tokenizer (no shifts)."""
        seq = sequence.translate(_TRANSLATE[self.name])
        return " ".join(seq) if self.family == "t5" else seq

    def tokenize(self, sequences: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention mask on the model's device; checks one token per residue."""
        for i, seq in enumerate(sequences):
            if not seq or not (seq.isascii() and seq.isalpha() and seq.isupper()):
                raise InputError(
                    f"sequence {i} of the batch is empty or not normalised "
                    "(use locflow.data.sequences.normalize_sequence first)"
                )
            limit = self.max_residues
            if limit is not None and len(seq) > limit:
                raise InputError(
                    f"sequence {i} of the batch has {len(seq)} residues; {self.name} takes at "
                    f"most {limit} (clip it with clip_sequence)"
                )
        enc = self.tokenizer(
            [self.prepare(s) for s in sequences],
            padding=True,
            add_special_tokens=True,
            return_tensors="pt",
        )
        lengths = torch.tensor([len(s) for s in sequences])
        got = enc["attention_mask"].sum(dim=1)
        bad = torch.nonzero(got != lengths + self.specials).flatten().tolist()
        if bad:
            i = bad[0]
            raise InputError(
                f"sequence {i} of the batch: the {self.name} tokenizer made {int(got[i])} tokens "
                f"for {int(lengths[i])} residues; is this the right tokenizer?"
            )
        residues = self._residue_mask(lengths, enc["input_ids"].shape[1] - self.specials)
        ids = enc["input_ids"][:, self.prefix : self.prefix + residues.shape[1]]
        unknown = torch.nonzero((ids == self.unk_id) & residues)
        if len(unknown):
            i, j = unknown[0].tolist()
            raise InputError(
                f"sequence {i} of the batch: residue {j + 1} ({sequences[i][j]!r}) is not in the "
                f"{self.name} vocabulary"
            )
        return {k: enc[k].to(self.device) for k in ("input_ids", "attention_mask")}

    @staticmethod
    def _residue_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
        return torch.arange(width)[None, :] < lengths[:, None]

    def forward(self, sequences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (hidden [B, L, D], mask [B, L] bool) for residue strings; padding rows are 0."""
        enc = self.tokenize(sequences)
        want_all = self.layer != -1
        out = self.model(**enc, output_hidden_states=want_all)
        hidden = out.hidden_states[self.layer] if want_all else out.last_hidden_state
        width = max(len(s) for s in sequences)
        hidden = hidden[:, self.prefix : self.prefix + width]
        lengths = torch.tensor([len(s) for s in sequences])
        mask = self._residue_mask(lengths, width).to(hidden.device)
        return hidden * mask.unsqueeze(-1).to(hidden.dtype), mask


def _is_local(checkpoint: str) -> bool:
    """A checkpoint is a local folder unless it is an 'org/name' hub id that is not on disk."""
    path = Path(checkpoint).expanduser()
    if path.exists():
        return True
    looks_like_hub_id = checkpoint.count("/") == 1 and not checkpoint.startswith((".", "/", "~"))
    return not looks_like_hub_id


def load_backbone(
    name: str,
    checkpoint: str | Path | None,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float32,
    *,
    layer: int = -1,
    attention: str = "sdpa",
) -> Backbone:
    """Load a frozen backbone from a local folder, or from the hub when given an 'org/name' id.

    `attention` is the Hugging Face attention implementation ('sdpa' fused, 'eager' reference).
    """
    family = _family(name)
    if not checkpoint:
        raise ParameterError(
            f"backbone {name} needs `checkpoint`: a folder with config.json, weights and "
            "tokenizer files (or a hub id such as facebook/esm2_t33_650M_UR50D)"
        )
    checkpoint = str(checkpoint)
    local = _is_local(checkpoint)
    path = str(Path(checkpoint).expanduser()) if local else checkpoint
    if local:
        if not Path(path).is_dir():
            raise InputError(f"{checkpoint}: checkpoint folder not found")
        if not (Path(path) / "config.json").is_file():
            raise InputError(f"{checkpoint}: not a model folder (no config.json)")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    from transformers import AutoConfig, AutoTokenizer, EsmModel, T5EncoderModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # locflow shows its own progress

    try:
        config = AutoConfig.from_pretrained(path, local_files_only=local)
    except (OSError, ValueError) as exc:
        raise InputError(f"{checkpoint}: cannot read the model config ({exc})") from exc
    expected = "t5" if family == "t5" else "esm"
    if config.model_type != expected:
        raise InputError(
            f"{checkpoint}: a {config.model_type!r} model, but backbone {name} needs {expected!r}"
        )
    layers = int(config.num_layers if family == "t5" else config.num_hidden_layers)
    if not -(layers + 1) <= layer <= layers:
        raise ParameterError(f"{checkpoint}: `layer` {layer} outside -{layers + 1}..{layers}")
    kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": attention}
    if family == "esm":
        kwargs["add_pooling_layer"] = False
    model_class = T5EncoderModel if family == "t5" else EsmModel
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
        model = model_class.from_pretrained(path, local_files_only=local, **kwargs)
    except (OSError, ValueError, ImportError) as exc:
        hint = ""
        if family == "t5" and not (Path(path) / "tokenizer.json").exists():
            hint = "; a folder with only spiece.model needs the sentencepiece package"
        raise InputError(f"{checkpoint}: cannot load backbone {name} ({exc}){hint}") from exc
    model.eval().requires_grad_(False).to(device)
    log.info("loaded %s from %s on %s as %s", name, checkpoint, device, dtype)
    return Backbone(name, model, tokenizer, checkpoint=checkpoint, layer=layer)


def add_lora(backbone: Backbone, rank: int = 4, alpha: int = 8, dropout: float = 0.0) -> Backbone:
    """Wrap the attention projections (ESM query/key/value, T5 q/k/v/o) with LoRA adapters of
    `rank`; only the adapters are trainable afterwards. Modifies and returns `backbone`."""
    from peft import LoraConfig, get_peft_model

    targets = ["q", "k", "v", "o"] if backbone.family == "t5" else ["query", "key", "value"]
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets)
    with warnings.catch_warnings():
        # peft calls a transformers method that transformers deprecates; nothing to act on.
        warnings.filterwarnings("ignore", category=FutureWarning)
        backbone.model = get_peft_model(backbone.model, config)
    return backbone


def esm_tokenizer(folder: str | Path) -> Any:
    """An ESM tokenizer written from `ESM_ALPHABET` into `folder` (vocab.txt)."""
    from transformers import EsmTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(ESM_ALPHABET) + "\n", encoding="utf-8")
    return EsmTokenizer(str(folder / "vocab.txt"))


def prott5_tokenizer() -> Any:
    """A ProtT5-style tokenizer (vocabulary order of `PROTT5_RESIDUES`), no SentencePiece model
    file needed: a Unigram model of single residues, as transformers' T5Tokenizer builds it."""
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"\u2581{aa}", -float(i + 1)) for i, aa in enumerate(PROTT5_RESIDUES)]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(99, -1, -1)]
    return T5Tokenizer(vocab=vocab, extra_ids=100)


def build_model(
    name: str,
    *,
    layers: int,
    hidden: int,
    heads: int,
    ffn: int,
    kv: int | None = None,
    seed: int = 0,
    tokenizer_folder: str | Path | None = None,
) -> tuple[nn.Module, Any]:
    """A randomly initialised backbone model of an explicit shape, and its tokenizer.

    `kv` is the width of one attention head (T5 only; default hidden / heads).
    """
    from transformers import EsmConfig, EsmModel, T5Config, T5EncoderModel

    family = _family(name)
    torch.manual_seed(seed)
    if family == "t5":
        t5 = T5Config(
            vocab_size=128,
            d_model=hidden,
            d_kv=kv or hidden // heads,
            d_ff=ffn,
            num_layers=layers,
            num_heads=heads,
            feed_forward_proj="relu",
            is_encoder_decoder=False,
            use_cache=False,
            dropout_rate=0.0,
        )
        return T5EncoderModel(t5).eval(), prott5_tokenizer()
    if tokenizer_folder is None:
        raise ValueError("an ESM model needs a tokenizer_folder for its vocab.txt")
    esm = EsmConfig(
        vocab_size=len(ESM_ALPHABET),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        max_position_embeddings=1026,
        # ESM-2 uses rotary positions and no embedding layer norm; ESM-1b the opposite.
        position_embedding_type="rotary" if name == "esm2" else "absolute",
        emb_layer_norm_before=name == "esm1b",
        token_dropout=True,
        pad_token_id=ESM_ALPHABET.index("<pad>"),
        mask_token_id=ESM_ALPHABET.index("<mask>"),
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return EsmModel(esm, add_pooling_layer=False).eval(), esm_tokenizer(tokenizer_folder)


def random_checkpoint(name: str, folder: str | Path, *, seed: int = 0, **shape: int) -> Path:
    """Write a randomly initialised model folder (config, safetensors, tokenizer) for tests and
    benchmarks, loadable with `load_backbone(name, folder)`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model, tokenizer = build_model(name, seed=seed, tokenizer_folder=folder, **shape)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


__all__ = [
    "BACKBONES",
    "CLIP_HALF",
    "DTYPES",
    "ESM_ALPHABET",
    "PROTT5_RESIDUES",
    "SHAPES",
    "Backbone",
    "add_lora",
    "build_model",
    "clip_indices",
    "clip_sequence",
    "esm_tokenizer",
    "load_backbone",
    "prott5_tokenizer",
    "random_checkpoint",
    "resolve_dtype",
]
