#!/usr/bin/env bash
# Rebuild the detector that `ganscope detect` uses without --model, and its model card.
#
#   bash scripts/make_default_detector.sh            # about 10 minutes on 2 cores
#
# 1. the quick upsampling study makes 9 generators (7 upsamplers + 2 spectral fixes) trained on
#    the built-in photo corpus, with train and test samples that share no latents;
# 2. a real training set of the same size as all fakes together, from the train region of the
#    photos (the test region stays unseen);
# 3. a CNN on NPR residuals (Tan et al. 2024) with Wang et al. (2020)'s blur + JPEG augmentation
#    at probability 0.5, trained on all generators;
# 4. evaluation on the study's held-out real and fake images, written into MODEL_CARD.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-runs/quick}
OUT=src/ganscope/assets/default_detector
WORK=${WORK:-runs/default-detector}

ganscope study --profile quick --out "$RUN"
ganscope data builtin --out "$WORK/real" --size 32 --count 3600 --split train --seed 1

fakes=()
tests=()
for d in "$RUN"/data/train/*/; do
  name=$(basename "$d")
  [ "$name" = real ] && continue
  fakes+=(--fake "$d")
  tests+=(--fake "$RUN/data/test/$name")
done

rm -rf "$WORK/model"
ganscope detector train --real "$WORK/real" "${fakes[@]}" --method cnn --features npr \
  --epochs 30 --patience 6 --blur-prob 0.5 --jpeg-prob 0.5 --seed 0 --out "$WORK/model"
ganscope detector eval "$WORK/model" --real "$RUN/data/test/real" "${tests[@]}" \
  --json "$WORK/eval.json"

rm -rf "$OUT"
mkdir -p "$OUT"
cp "$WORK/model/model.safetensors" "$WORK/model/config.json" "$OUT/"
python scripts/model_card.py "$WORK/eval.json" "$OUT/config.json" > "$OUT/MODEL_CARD.md"
echo "default detector written to $OUT"
