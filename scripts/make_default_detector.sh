#!/usr/bin/env bash
# Rebuild the detector that `ganscope detect` uses without --model, its evaluation and model card
# (issue 11). From a fresh clone:
#
#   python -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 -e ".[test]"
#   bash scripts/make_default_detector.sh
#
# Time: see MODEL_CARD.md (the build records its own wall time). Every stage is cached under
# $WORK, so an interrupted build resumes where it stopped; delete $WORK to start over.
#
# 1. installs the Debian packages whose photographs it trains on (lomiri-wallpapers-16.04 and
#    -20.04; never plasma-workspace-wallpapers or mate-backgrounds, which are kept for evaluation);
# 2. trains two re-rendering autoencoders per upsampler (content-aligned fakes), samples every
#    photo generator of the shipped zoo, cuts real crops at native resolution;
# 3. trains the NPR detector with tiled scoring and temperature scaling, evaluates it per source,
#    size and JPEG quality, and retrains it without each generator family (leave one family out);
# 4. writes src/ganscope/assets/default_detector/ (weights, config, evaluation.json, MODEL_CARD.md).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-runs/default-detector}
packages=(lomiri-wallpapers-16.04 lomiri-wallpapers-20.04)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
python scripts/make_default_detector.py --work "$WORK" "$@"
