#!/usr/bin/env bash
# DTU 02460 week 1 (vae_bernoulli.py): thresholded MNIST, MLP 784-512-512, M = 10, Adam 1e-3.
# - gaussian, mog: the Gaussian prior and the mixture-of-Gaussians prior (exercise 1.6: 10
#   components, learned weights), batch 32, 10 epochs, as the course script.
# - beta0.5 beta1 beta2 beta4: a beta-VAE sweep on the same network, batch 128, 10 epochs.
# Each run is trained with `dlvm train` and evaluated on the full test set with
# `dlvm eval --iw 100`; results land in runs/dtu-*/ (run.json, eval.json).
# Usage: bash examples/dtu-week1.sh [name ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli.js ] || npm run build
common=(--hidden 512,512 --latent-dim 10 --binarize threshold --epochs 10 --lr 1e-3)
run() {
  local name=$1; shift
  echo "== $name: dlvm train $* ${common[*]} --out runs/dtu-$name"
  node dist/cli.js train "$@" "${common[@]}" --out "runs/dtu-$name"
  node dist/cli.js eval --run "runs/dtu-$name" --iw 100
}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(gaussian mog beta0.5 beta1 beta2 beta4)
for n in "${names[@]}"; do
  case $n in
    gaussian) run gaussian --model vae --batch-size 32 ;;
    mog) run mog --model gmvae --components 10 --learn-weights --batch-size 32 ;;
    beta*) run "$n" --model betavae --beta "${n#beta}" --batch-size 128 ;;
    *) echo "unknown run $n" >&2; exit 1 ;;
  esac
done
