"""Multi-label classifier: any encoder (text → representation x) + a linear head → logits."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class MultiLabelClassifier(nn.Module):
    """encoder → x → Linear2 → |C| logits (METHODS §1.1).

    The encoder is any module mapping a batch of token ids to a representation of width
    ``encoder.output_dim``; the HSCNN comparator (METHODS §1.3) reuses ``represent``.
    """

    def __init__(self, encoder: nn.Module, num_labels: int) -> None:
        super().__init__()
        if num_labels < 1:
            raise ValueError(f"num_labels must be ≥ 1, got {num_labels}")
        self.encoder = encoder
        self.head = nn.Linear(encoder.output_dim, num_labels)

    def represent(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.encoder(token_ids)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(token_ids))


def init_head_bias_from_priors(
    model: MultiLabelClassifier, priors: np.ndarray, eps: float = 1e-4
) -> None:
    """Set each label's output bias to the log-odds of its training prior.

    An untrained head predicts p ≈ 0.5 for every label, so the first epochs only learn that
    most labels are rare; starting at log(p_c / (1 − p_c)) skips that (the prior initialisation
    of Lin et al., "Focal Loss", §4.1). Priors are clipped to [eps, 1 − eps] for N_c = 0 or N.
    """
    p = np.clip(np.asarray(priors, dtype=np.float64), eps, 1.0 - eps)
    if p.shape != (model.head.out_features,):
        raise ValueError(f"priors has shape {p.shape}, expected ({model.head.out_features},)")
    with torch.no_grad():
        model.head.bias.copy_(torch.as_tensor(np.log(p / (1.0 - p)), dtype=model.head.bias.dtype))


def init_head_bias(
    model: MultiLabelClassifier,
    start: str,
    priors: np.ndarray,
    fitted: np.ndarray | None = None,
) -> None:
    """Start the output bias as a loss recipe says (METHODS §3 "Output bias"): ``prior``
    (:func:`init_head_bias_from_priors`), ``zero`` (every label's bias 0, as the reference
    implementation) or ``fitted`` (the loss's own constant minimiser, given as ``fitted``:
    :func:`longtail_mltc.losses.bias_start.fitted_output_bias`)."""
    if start == "prior":
        init_head_bias_from_priors(model, priors)
    elif start == "zero":
        with torch.no_grad():
            model.head.bias.zero_()
    elif start == "fitted":
        if fitted is None:
            raise ValueError("output-bias start 'fitted' needs the fitted bias vector")
        values = np.asarray(fitted, dtype=np.float64)
        if values.shape != (model.head.out_features,):
            raise ValueError(
                f"fitted bias has shape {values.shape}, expected ({model.head.out_features},)"
            )
        with torch.no_grad():
            model.head.bias.copy_(torch.as_tensor(values, dtype=model.head.bias.dtype))
    else:
        raise ValueError(
            f"unknown output-bias start {start!r}; expected 'prior', 'zero' or 'fitted'"
        )
