"""Pair/triplet samplers and support sets (METHODS §1.5, §1.7, §1.9).

* :func:`sample_triplets`: category-specific triplets ``(first, second, label, target)`` for
  HSCNN, similar:dissimilar 1:2, every label with a document picked ≥ ``min_per_label`` times.
* :func:`sample_pairs`: plain Siamese pairs ``(first, second, target)`` for /CSS and Naive.
* :func:`support_indices`: ``k`` random training documents per label (-1 padded).
* :func:`label_docs`: the validated per-label index all of them use (reusable across calls);
  its ``empty_labels`` / ``single_doc_labels`` / ``universal_labels`` report the edge cases.

All take a 0/1 ``[documents × labels]`` matrix (dense or scipy.sparse) and a required ``seed``.
No kedro or mlflow imports.
"""

from __future__ import annotations

from longtail_mltc.sampling.matrix import LabelDocs, label_docs
from longtail_mltc.sampling.pairs import Pairs, sample_pairs
from longtail_mltc.sampling.support import support_indices
from longtail_mltc.sampling.triplets import Triplets, sample_triplets

__all__ = [
    "LabelDocs",
    "Pairs",
    "Triplets",
    "label_docs",
    "sample_pairs",
    "sample_triplets",
    "support_indices",
]
