#!/usr/bin/env bash
# Compare GAN training recipes on the built-in corpus with ganscope's own quality numbers.
#
#   bash scripts/compare_recipes.sh [OUT] [STEPS]     # OUT=runs/recipes, STEPS=1000
#
# Each recipe trains a 32x32 dcgan (width 16, batch 32, transposed convolutions) on 4000
# built-in crops (train split) and is measured on 500 samples against 500 held-out crops
# (test split), every number beside its real-vs-real value. About 20 minutes per recipe on an
# idle 2-core CPU at 1000 steps; rerunning resumes and skips finished runs.
set -euo pipefail
OUT=${1:-runs/recipes}
STEPS=${2:-1000}
mkdir -p "$OUT"
[ -f "$OUT/train/config.json" ] || ganscope -q data builtin --out "$OUT/train" --size 32 --count 4000 --seed 0 --split train
[ -f "$OUT/test/config.json" ] || ganscope -q data builtin --out "$OUT/test" --size 32 --count 500 --seed 1 --split test

run() {  # name, then gan train options (later options win)
  local name=$1; shift
  ganscope -q gan train --data "$OUT/train" --upsample transposed --out "$OUT/$name" \
    --width 16 --batch-size 32 --steps "$STEPS" --sample-every 0 "$@"
  ganscope gan quality "$OUT/$name" --real "$OUT/test" --train "$OUT/train" --n 500 \
    --json "$OUT/$name.quality.json" | sed "s/^/$name: /"
}

run ns --loss ns --augment none
run ns-diffaugment --loss ns --augment translation,cutout
run hinge-diffaugment --loss hinge --augment color,translation,cutout
# SNGAN's Adam betas, twice the width and steps: the zoo's photo recipe (scripts/make_zoo.py).
run hinge-sngan-betas --loss hinge --betas 0,0.9 --width 32 --steps $((2 * STEPS))
