"""Support sets for Siamese classification (METHODS §1.7).

For every label, ``k`` distinct random training documents that carry it (K = 5); their
representations are averaged into the label's prototype ``x̄_c`` once per label.
"""

from __future__ import annotations

import numpy as np

from longtail_mltc.sampling.matrix import LabelDocs, LabelMatrix, label_docs

__all__ = ["support_indices"]


def support_indices(label_matrix: LabelMatrix | LabelDocs, k: int = 5, *, seed: int) -> np.ndarray:
    """int64 ``[labels × k]`` row indices of ``k`` distinct random documents of each label.

    A label with fewer than ``k`` documents gets all of them (in random order) followed by
    ``-1`` padding; a label without documents is all ``-1``. Partial Fisher-Yates shuffle of
    every label's document list at once: ``k`` vectorised swap steps over all labels, so
    ``O(nnz + k · labels)``. Seeded.
    """
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    docs = label_docs(label_matrix)
    rng = np.random.default_rng(seed)
    pool = docs.doc_ids.copy()
    out = np.full((docs.n_labels, k), -1, dtype=np.int64)
    for step in range(k):
        labels = np.flatnonzero(docs.counts > step)
        head = docs.indptr[labels] + step
        pick = head + rng.integers(0, docs.counts[labels] - step)
        pool[head], pool[pick] = pool[pick], pool[head].copy()
        out[labels, step] = pool[head]
    return out
