"""Scoring a split with a trained network: sigmoid scores of a classifier, decoded label sets
of SGM. Batched in order of length (little padding), rows back in document order."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..losses import LossFn
from ..models.sgm import SGM
from ..training.data import EncodedSplit, collate, sequential_batches

__all__ = ["decode_split", "predict_scores"]


@torch.no_grad()
def predict_scores(
    model: nn.Module, split: EncodedSplit, batch_size: int = 512, loss_fn: LossFn | None = None
) -> tuple[np.ndarray, float]:
    """Sigmoid scores [N, |C|] in document order, and the mean loss when ``loss_fn`` is given."""
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort(split.lengths, kind="stable")  # similar lengths → little padding
    scores = np.empty(split.labels.shape, dtype=np.float32)
    total = 0.0
    with torch.inference_mode():  # no autograd graph: prediction only
        for batch in sequential_batches(len(split), batch_size):
            index = order[batch]
            ids, targets = collate(split, index, device, with_labels=loss_fn is not None)
            logits = model(ids)
            scores[index] = torch.sigmoid(logits).cpu().numpy()
            if loss_fn is not None:
                total += float(loss_fn(logits, targets)) * len(index)
    return scores, total / max(1, len(split))


@torch.no_grad()
def decode_split(
    model: SGM,
    split: EncodedSplit,
    batch_size: int = 256,
    beam_size: int = 1,
    max_labels: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decoded label sets (bool ``[N, |C|]``) and ranking scores (float32), in document order."""
    model.eval()
    device = next(model.parameters()).device
    n_labels = split.labels.shape[1]
    decisions = np.zeros((len(split), n_labels), dtype=bool)
    scores = np.zeros((len(split), n_labels), dtype=np.float32)
    order = np.argsort(split.lengths, kind="stable")  # similar lengths → little padding
    with torch.inference_mode():
        for batch in sequential_batches(len(split), batch_size):
            index = order[batch]
            ids, _ = collate(split, index, device, with_labels=False)
            out = model.decode(ids, beam_size=beam_size, max_labels=max_labels)
            decisions[index] = out.labels.cpu().numpy()
            scores[index] = out.scores.float().cpu().numpy()
    return decisions, scores
