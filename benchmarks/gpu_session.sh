#!/usr/bin/env bash
# One GPU session that ships a model: train the backbones that need no pretrained weights on
# the same 5 folds at once, compare them, and package the 5-fold model of the best one.
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
#   0. a smoke run of the same comparison on 240 proteins, 1 epoch (about a minute): a CUDA
#      or packaging failure ends the session here, with most of the device time left;
#   1. benchmarks/compare_backbones.py: cnn, proteinbert and birnn on all 5 folds at once (15
#      processes on the one GPU), at most $EPOCHS epochs and $COMPARE_MINUTES minutes each,
#      each fold blending in its composition peer, plus the composition + logistic-regression
#      baseline alone; picks the best (mean micro F1);
#   2. scripts/make_model.py on the same work folder: the best backbone's 5 folds are already
#      trained, so it only cross-validates them (locflow evaluate --folds), writes provenance
#      and the model card, and packs the model folder.
# Budget: about 8 minutes on one H200 with the defaults below; each step also has a hard
# timeout (SMOKE_TIMEOUT 150 s, COMPARE_TIMEOUT 420 s, MODEL_TIMEOUT 90 s); every step prints
# its timing. If a step fails, the finished folds' records and logs come back as
# partial_model.tar.gz.
#
# Writes into $OUT (7 files, each well under 16 MB):
#   default_model.tar.gz      the model folder: unpack into src/locflow/ (default_model/)
#   MODEL_CARD.md, provenance.json, cv_metrics.json   its card and records (also in the tar)
#   compare_backbones.json, compare_backbones.md      the comparison
#   session.log               everything printed
#
# Knobs (environment): EPOCHS (14), COMPARE_MINUTES (3.5), DEVICE (cuda), TOKENS (131072
# padded residues per batch), BACKBONES (cnn,proteinbert,birnn), SUBSET (N random proteins: a
# smoke run), CLIP_HALF, JOBS_THREADS (CPU threads per job, 1), SKIP_SMOKE.
set -euo pipefail

: "${OUT:?set OUT to the folder for the results}"
CARRY=${CARRY:-device_carry}
EPOCHS=${EPOCHS:-14}
COMPARE_MINUTES=${COMPARE_MINUTES:-3.5}
DEVICE=${DEVICE:-cuda}
TOKENS=${TOKENS:-131072}
JOBS_THREADS=${JOBS_THREADS:-1}
BACKBONES=${BACKBONES:-cnn,proteinbert,birnn}
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-150}
COMPARE_TIMEOUT=${COMPARE_TIMEOUT:-420}
MODEL_TIMEOUT=${MODEL_TIMEOUT:-90}
PYTHON=${PYTHON:-python3}
WORK=${WORK:-$(mktemp -d /tmp/locflow-gpu.XXXXXX)}

mkdir -p "$OUT" "$WORK"
exec > >(tee "$OUT/session.log") 2>&1
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1

DATA=$CARRY/data/deeploc2
FOLDS=$CARRY/partition/folds.parquet
# --composition-peer: the folds trained here become the shipped model, which blends the peer in
# (make_model's default; compare_backbones leaves it out unless asked).
COMMON=(--data "$DATA" --folds-table "$FOLDS" --epochs "$EPOCHS" --device "$DEVICE"
        --tokens-per-batch "$TOKENS" --threads "$JOBS_THREADS" --composition-peer)
[ -f "$CARRY/partition/proteins.parquet" ] && COMMON+=(--proteins "$CARRY/partition/proteins.parquet")
[ -n "${CLIP_HALF:-}" ] && COMMON+=(--clip-half "$CLIP_HALF")
FULL=("${COMMON[@]}")
[ -n "${SUBSET:-}" ] && FULL+=(--subset "$SUBSET")
n_backbones=$(tr ',' '\n' <<<"$BACKBONES" | grep -c .)

SECONDS=0
stamp() { echo "=== $(date +%T) [${SECONDS}s] $*"; }
partial() {  # what a failed step leaves: records and logs, not weights
    stamp "$1 failed or ran out of time: packing what it finished"
    tar -czf "$OUT/partial_model.tar.gz" -C "$WORK" --exclude='staging_*' --exclude='*.pt' \
        --exclude='*.safetensors' --exclude='*.parquet' --exclude='attention.h5' . || true
    ls -l "$OUT"
    exit 1
}
for f in "$DATA/swissprot_cv.csv.gz" "$FOLDS"; do
    [ -f "$f" ] || { echo "missing $f (see the top of $0)"; exit 2; }
done
stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
echo "work folder: $WORK"

if [ -z "${SKIP_SMOKE:-}" ]; then
    stamp "0. smoke run: every backbone, 240 proteins, 1 epoch"
    timeout "$SMOKE_TIMEOUT" "$PYTHON" benchmarks/compare_backbones.py "${COMMON[@]}" \
        --backbones "$BACKBONES" --subset 240 --epochs 1 --work "$WORK/smoke" --folds 0 \
        --jobs "$n_backbones" || partial "the smoke run"
fi

stamp "1. compare $BACKBONES and the baseline on all 5 folds at once"
timeout "$COMPARE_TIMEOUT" "$PYTHON" benchmarks/compare_backbones.py "${FULL[@]}" \
    --backbones "$BACKBONES" --work "$WORK/compare" --folds 0 1 2 3 4 \
    --max-minutes "$COMPARE_MINUTES" --jobs $((5 * n_backbones)) \
    --json "$OUT/compare_backbones.json" --markdown "$OUT/compare_backbones.md" \
    || partial "the comparison"
BACKBONE=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["best"])' \
    "$OUT/compare_backbones.json")

stamp "2. the 5-fold default model of $BACKBONE (trained in step 1): evaluate, card, pack"
timeout "$MODEL_TIMEOUT" "$PYTHON" scripts/make_model.py "${FULL[@]}" \
    --work "$WORK/compare" --backbone "$BACKBONE" --dest "$WORK/default_model" \
    || partial "the model step"

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
