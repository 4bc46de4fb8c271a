"""The loss's own best constant: the output bias that minimises a loss when the features say
nothing (METHODS §3 "Output bias"; docs/losses.md "Loss-aware recipes").

For BCE the minimiser of the mean loss of a constant logit ``b_c`` is the training log-odds
``log(p_c / (1 − p_c))``, i.e. the prior start. For the focal / CB / R-FL / NTR-FL / DB family
it is not: the focal and negative-tolerant terms move it towards zero, the re-balancing weight
moves head labels up (Reuters, DB: head +0.44, tail about −1.1, against the log-odds −0.5 and
−8). Starting at the prior then leaves the network a large, wrong push to make (every score
up), and starting at zero a smaller one (every score down). Starting at the loss's own minimiser
leaves none: the first gradients are about the documents, not the label rates.

No library solves this: it is a per-label 1-D minimisation of whichever loss module the run
uses, so it is done here with L-BFGS on the bias vector alone, over the training label matrix
in chunks of documents (the loss's "mean" reduction is a mean over documents, so the chunk
losses add up, weighted by their size).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["fitted_output_bias"]


def fitted_output_bias(
    loss_fn: Callable[..., torch.Tensor],
    labels: sp.spmatrix | np.ndarray,
    *,
    max_documents: int = 20_000,
    chunk_cells: int = 4_000_000,
    max_iter: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """The constant logits ``b`` (one per label) minimising ``loss_fn(b broadcast, labels)``.

    ``labels``: the training 0/1 matrix ``[documents, labels]`` (CSR or dense). More than
    ``max_documents`` documents are subsampled (seeded) first: the minimiser depends on the
    label rates, which a 20,000-document sample pins down. Chunks of ``chunk_cells`` cells keep
    the dense label block small for corpora with many labels.
    """
    matrix = sp.csr_matrix(labels)
    n_docs, n_labels = matrix.shape
    if n_docs == 0 or n_labels == 0:
        raise ValueError(f"fitted_output_bias needs a non-empty label matrix, got {matrix.shape}")
    if n_docs > max_documents:
        rng = np.random.default_rng(seed)
        matrix = matrix[np.sort(rng.choice(n_docs, size=max_documents, replace=False))]
        n_docs = max_documents
    rows = max(1, chunk_cells // n_labels)
    chunks = [
        torch.as_tensor(matrix[start : start + rows].toarray(), dtype=torch.float32)
        for start in range(0, n_docs, rows)
    ]
    bias = torch.zeros(n_labels, dtype=torch.float32, requires_grad=True)
    optimiser = torch.optim.LBFGS([bias], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        total = torch.zeros(())
        for chunk in chunks:
            part = loss_fn(bias.expand_as(chunk), chunk) * (chunk.shape[0] / n_docs)
            part.backward()
            total = total + part.detach()
        return total

    optimiser.step(closure)
    fitted = bias.detach().numpy().astype(np.float64)
    if not np.isfinite(fitted).all():
        raise ValueError("fitted_output_bias: the loss's constant minimiser is not finite")
    return fitted
