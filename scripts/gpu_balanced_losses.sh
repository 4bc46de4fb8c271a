#!/usr/bin/env bash
# The balanced-loss study at the paper's protocol on a GPU (METHODS §3.1): MiniLM-L6 fine-tuned
# at 512 tokens for up to 10 epochs, once per loss. Prepared for a machine with CUDA (not run on
# the project's CPU-only machines; docs/losses.md "The balanced-loss study").
#   bash scripts/gpu_balanced_losses.sh                 # bce, db, ntr_focal (~minutes on one GPU)
#   LOSSES="bce wce focal cb r_focal ntr_focal db db_no_focal cb_ntr" bash scripts/gpu_balanced_losses.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=true
LOSSES="${LOSSES:-bce db ntr_focal}"
EPOCHS="${EPOCHS:-10}"
[[ -x .venv/bin/kedro ]] || bash scripts/setup.sh
.venv/bin/python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
ns=balanced_losses
nodes="$ns.select_backbone,$ns.backbone_documents"
for loss in $LOSSES; do
  nodes="$nodes,$ns.$loss.train_single_network,$ns.$loss.predict_single_network,$ns.$loss.evaluate_single_network"
done
# the corpus chain first (CPU work, cached in data/), then the study on the GPU
.venv/bin/kedro run --pipeline=balanced_losses --to-nodes="$ns.backbone_documents"
.venv/bin/kedro run --pipeline=balanced_losses --nodes="$nodes" \
  --params "balanced_losses.backbones.transformer.training.max_epochs=$EPOCHS,balanced_losses.backbones.transformer.training.eval_batch_size=256"
