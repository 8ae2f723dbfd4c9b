"""The commands that make models: train (one fold) and embed (a pretrained backbone's
embeddings, for frozen-backbone training)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from locflow.cli.app import app, done
from locflow.models.losses import DCT_WEIGHT, KL_WEIGHT


@app.command("train", rich_help_panel="Model")
def train_cmd(
    proteins: Annotated[Path, typer.Argument(help="Proteins table (Parquet).")],
    folds: Annotated[Path, typer.Argument(help="Folds table (Parquet).")],
    fold: Annotated[int, typer.Option("--fold", help="Test fold K (never read in training).")],
    backbone: Annotated[
        str,
        typer.Option(
            "--backbone",
            help="Trained from scratch (no pretrained weights): cnn, proteinbert or birnn; "
            "pretrained language models: esm2, esm1b or prott5.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Model folder; writes <out>/fold<K>/.")],
    embeddings: Annotated[
        Path | None,
        typer.Option(help="Embeddings HDF5 from `locflow embed`, for frozen backbones."),
    ] = None,
    checkpoint: Annotated[
        str | None, typer.Option(help="Local folder (or hub id) of the pretrained backbone.")
    ] = None,
    lora: Annotated[
        bool, typer.Option("--lora", help="Fine-tune the backbone with LoRA adapters (rank 4).")
    ] = False,
    pooling: Annotated[
        str, typer.Option(help="attention (DeepLoc 2.0) or mean (baseline).")
    ] = "attention",
    validation_fold: Annotated[
        int | None, typer.Option(help="Validation fold; default (K + 1) mod k.")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs (early stopping).")] = 14,
    tokens_per_batch: Annotated[
        int, typer.Option(min=1, help="Padded residues per batch (length-sorted batches).")
    ] = 16384,
    seed: Annotated[int, typer.Option(help="Random seed (initialisation, order, dropout).")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    kl_weight: Annotated[
        float,
        typer.Option(min=0.0, help="Weight of the loss pulling attention onto annotated signals."),
    ] = KL_WEIGHT,
    dct_weight: Annotated[
        float, typer.Option(min=0.0, help="Weight of the smooth-attention (DCT) prior in the loss.")
    ] = DCT_WEIGHT,
    composition_peer: Annotated[
        bool,
        typer.Option(
            help="Blend in a logistic regression on amino-acid composition, its weight (0 to "
            "0.5) chosen on the validation fold; helps rare locations of from-scratch models."
        ),
    ] = False,
) -> None:
    """Train one cross-validation fold; rerun to resume after a kill or to add epochs."""
    from locflow.runtime import reporting
    from locflow.training.fold import run_train
    from locflow.training.settings import TrainSettings

    settings = TrainSettings(
        fold=fold,
        backbone=backbone,
        validation_fold=validation_fold,
        embeddings=str(embeddings) if embeddings else None,
        checkpoint=checkpoint,
        lora=lora,
        pooling=pooling,
        epochs=epochs,
        tokens_per_batch=tokens_per_batch,
        seed=seed,
        device=device,
        kl_weight=kl_weight,
        dct_weight=dct_weight,
        composition_peer=composition_peer,
    )
    with reporting("train"):
        config = run_train(proteins, folds, out, settings=settings)
    mcc = [m for m in config["validation"]["mcc"].values() if m is not None]
    done(
        f"fold {fold}: {config['training']['epochs_run']} epochs, validation fold "
        f"{config['validation_fold']} mean MCC {sum(mcc) / max(len(mcc), 1):.3f} "
        f"-> {out / f'fold{fold}'}"
    )


@app.command("embed", rich_help_panel="Model")
def embed_cmd(
    input: Annotated[
        Path, typer.Argument(help="Proteins table (Parquet) or FASTA (plain or gzipped).")
    ],
    backbone: Annotated[str, typer.Option(help="Language model: esm2, esm1b or prott5.")],
    out: Annotated[
        Path, typer.Option("--out", help="Embeddings HDF5 to create or extend (resumable).")
    ],
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="Model folder (config.json, weights, tokenizer files), or a hub id "
            "such as facebook/esm2_t33_650M_UR50D to download explicitly."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")] = "auto",
    tokens_per_batch: Annotated[
        int | None,
        typer.Option(min=1, help="Padded tokens per batch (default 1024 on CPU, 16384 on GPU)."),
    ] = None,
    layer: Annotated[
        int, typer.Option(help="Hidden layer to store (-1 last, 0 the embedding layer).")
    ] = -1,
    dtype: Annotated[
        str,
        typer.Option(
            help="Compute precision: auto (bf16 where native, else fp16 on GPU, fp32 "
            "on CPU), fp32, bf16 or fp16. Stored embeddings are float16."
        ),
    ] = "auto",
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Log and skip invalid sequences, not fail.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Per-residue embeddings (float16 HDF5 keyed by sequence hash); reruns skip stored ones."""
    from locflow.models.embed import run_embed
    from locflow.runtime import reporting

    with reporting("embed", show=progress):
        s = run_embed(
            input,
            out,
            backbone=backbone,
            checkpoint=checkpoint,
            device=device,
            dtype=dtype,
            layer=layer,
            tokens_per_batch=tokens_per_batch,
            skip_invalid=skip_invalid,
        )
    skipped = f", {s.skipped_invalid} invalid skipped" if s.skipped_invalid else ""
    done(
        f"embedded {s.embedded} sequences ({s.residues} residues, {s.seconds:.1f} s), "
        f"{s.stored_before} already stored{skipped} -> {out}"
    )
