#!/usr/bin/env bash
# One GPU session that ships a model: compare the backbones trained from scratch on fold 0,
# then train, cross-validate and package the 5-fold default model of the best one.
#
# Usage, from the repository root of a checkout on the GPU machine (python3 with torch; no
# locflow install needed, PYTHONPATH=src is set here; no MMseqs2 needed):
#
#     OUT=/where/results/go bash benchmarks/gpu_session.sh
#
# It reads (git-ignored, carried to the machine; CARRY=... to use another folder):
#   device_carry/data/deeploc2/swissprot_cv.csv.gz, sorting_signals.csv.gz   the DeepLoc data
#   device_carry/partition/folds.parquet    locflow's homology partition of those proteins,
#                                          made beforehand where MMseqs2 runs, with beside it
#   device_carry/partition/folds.json       its partition report and
#   device_carry/partition/audit.json       its audit (both optional, recorded in the card)
#   device_carry/partition/proteins.parquet the proteins table partitioned (optional: else the
#                                          CSV is imported here; the ids are the same)
# Made beforehand with, e.g.:
#   locflow import-deeploc ../shared/data/deeploc2/swissprot_cv.csv.gz \
#       --signals ../shared/data/deeploc2/sorting_signals.csv.gz \
#       --out device_carry/partition/proteins.parquet
#   locflow partition device_carry/partition/proteins.parquet \
#       --out device_carry/partition/folds.parquet --threads 2
#   locflow audit device_carry/partition/proteins.parquet device_carry/partition/folds.parquet \
#       --report device_carry/partition/audit.json --threads 2
#
# Steps (bf16 autocast on CUDA, as locflow trains there; 128 proteins per batch):
#   1. benchmarks/compare_backbones.py: cnn, proteinbert, birnn on test fold 0 at once (one
#      process each), at most $EPOCHS epochs and $COMPARE_MINUTES minutes each, plus the
#      composition + logistic-regression baseline; picks the best (mean micro F1);
#   2. scripts/make_model.py: the 5 folds of the best backbone at once (same epochs, at most
#      $MODEL_MINUTES minutes each), locflow evaluate --folds, provenance, model card.
# Budget: about 7 minutes on one H200 with the defaults below; each step also has a hard
# timeout (COMPARE_TIMEOUT 240 s, MODEL_TIMEOUT 270 s), so the script ends within 9 minutes
# whatever happens; every step prints its timing. If the comparison fails, cnn is trained;
# if the model step fails, its finished folds and logs come back as partial_model.tar.gz.
#
# Writes into $OUT (7 files, each well under 16 MB):
#   default_model.tar.gz      the model folder: unpack into src/locflow/ (default_model/)
#   MODEL_CARD.md, provenance.json, cv_metrics.json   its card and records (also in the tar)
#   compare_backbones.json, compare_backbones.md      the comparison
#   session.log               everything printed
#
# Knobs (environment): EPOCHS (14), COMPARE_MINUTES (2.0), MODEL_MINUTES (2.5), DEVICE (cuda),
# TOKENS (131072 padded residues per batch), BACKBONE (skip the comparison, train this one),
# SUBSET (N random proteins: a smoke run), CLIP_HALF, JOBS_THREADS (CPU threads per job, 3).
set -euo pipefail

: "${OUT:?set OUT to the folder for the results}"
CARRY=${CARRY:-device_carry}
EPOCHS=${EPOCHS:-14}
COMPARE_MINUTES=${COMPARE_MINUTES:-2.0}
MODEL_MINUTES=${MODEL_MINUTES:-2.5}
DEVICE=${DEVICE:-cuda}
TOKENS=${TOKENS:-131072}
JOBS_THREADS=${JOBS_THREADS:-3}
COMPARE_TIMEOUT=${COMPARE_TIMEOUT:-240}
MODEL_TIMEOUT=${MODEL_TIMEOUT:-270}
PYTHON=${PYTHON:-python3}
WORK=${WORK:-$(mktemp -d /tmp/locflow-gpu.XXXXXX)}

mkdir -p "$OUT" "$WORK"
exec > >(tee "$OUT/session.log") 2>&1
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1

DATA=$CARRY/data/deeploc2
FOLDS=$CARRY/partition/folds.parquet
COMMON=(--data "$DATA" --folds-table "$FOLDS" --epochs "$EPOCHS" --device "$DEVICE"
        --tokens-per-batch "$TOKENS" --threads "$JOBS_THREADS")
[ -f "$CARRY/partition/proteins.parquet" ] && COMMON+=(--proteins "$CARRY/partition/proteins.parquet")
[ -n "${SUBSET:-}" ] && COMMON+=(--subset "$SUBSET")
[ -n "${CLIP_HALF:-}" ] && COMMON+=(--clip-half "$CLIP_HALF")

SECONDS=0
stamp() { echo "=== $(date +%T) [${SECONDS}s] $*"; }
for f in "$DATA/swissprot_cv.csv.gz" "$FOLDS"; do
    [ -f "$f" ] || { echo "missing $f (see the top of $0)"; exit 2; }
done
stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
echo "work folder: $WORK"

if [ -z "${BACKBONE:-}" ]; then
    stamp "1. compare cnn, proteinbert, birnn and the baseline on fold 0"
    if timeout "$COMPARE_TIMEOUT" "$PYTHON" benchmarks/compare_backbones.py "${COMMON[@]}" \
        --work "$WORK/compare" --folds 0 --max-minutes "$COMPARE_MINUTES" --jobs 3 \
        --json "$OUT/compare_backbones.json" --markdown "$OUT/compare_backbones.md"; then
        BACKBONE=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["best"])' \
            "$OUT/compare_backbones.json")
    else
        echo "the comparison failed or ran out of time: training cnn"
        BACKBONE=cnn
    fi
fi
stamp "2. the 5-fold default model of $BACKBONE"
if ! timeout "$MODEL_TIMEOUT" "$PYTHON" scripts/make_model.py "${COMMON[@]}" \
    --work "$WORK/model" --backbone "$BACKBONE" --max-minutes "$MODEL_MINUTES" --jobs 5 \
    --dest "$WORK/default_model"; then
    stamp "the model step failed or ran out of time: packing what it finished"
    tar -czf "$OUT/partial_model.tar.gz" -C "$WORK" --exclude='staging_*' --exclude='*.pt' \
        --exclude='predictions.parquet' --exclude='attention.h5' model || true
    ls -l "$OUT"
    exit 1
fi

stamp "3. pack the results"
cp "$WORK/default_model/MODEL_CARD.md" "$WORK/default_model/provenance.json" "$OUT/"
cp "$WORK/default_model/metrics.json" "$OUT/cv_metrics.json"
tar -czf "$OUT/default_model.tar.gz" -C "$WORK" default_model
ls -l "$OUT"
size=$(stat -c %s "$OUT/default_model.tar.gz")
if [ "$size" -gt 16000000 ]; then  # too big to come back in one file: split it
    split -b 15000000 -d "$OUT/default_model.tar.gz" "$OUT/default_model.tar.gz.part"
    rm "$OUT/default_model.tar.gz"
fi
stamp "done"
