"""Category-specific triplet sampling for HSCNN (METHODS §1.5).

``sample_triplets(Y, n_triplets, min_per_label=10, seed=…)`` draws pairs by picking labels at
random and then documents within them (:mod:`.budget`, :mod:`.draw`):

* similar pair ``((d_i, c), (d_j, c))``, ``i ≠ j`` → triplet ``(d_i, d_j, c, t=1)``;
* dissimilar pair ``((d_i, c_i), (d_j, c_j))`` with ``d_i ∌ c_j`` and ``d_j ∌ c_i`` (hence
  ``c_i ≠ c_j``, ``d_i ≠ d_j``) → ``(d_i, d_j, c_j, 0)`` and ``(d_j, d_i, c_i, 0)``.

A triplet ``(a, b, c, t)`` reads "``b`` carries ``c``; is ``a`` similar to ``b`` on ``c``?".

Choices where METHODS leaves room:

* Counting: each triplet is one label pick (its ``label``); every label with a training
  document appears at least ``min_per_label`` times in ``label``. Remaining picks are labels
  drawn uniformly at random (the tail is not down-weighted).
* Rounding: with ``n = n_triplets`` there are ``D = (n − n // 3) // 2`` dissimilar and
  ``S = n − 2·D`` similar pairs, so the total is exactly ``n`` and ``|S − D| ≤ 1``
  (``S = D = n / 3`` when ``n`` is a multiple of 3).
* Budget: never grown. If ``min_per_label × drawable labels > n_triplets`` (or the single-
  document / universal labels cannot fit their part), a ``ValueError`` says what is needed.
* Empty labels are skipped and logged (warning). Single-document labels get all their picks
  as dissimilar triplets (their document is the ``second`` of a ``t=0`` triplet). Labels carried
  by every labelled document get all their picks as similar triplets (:mod:`.matrix`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from longtail_mltc.sampling.budget import Budget
from longtail_mltc.sampling.draw import draw_pairs
from longtail_mltc.sampling.matrix import LabelDocs, LabelMatrix, label_docs
from longtail_mltc.sampling.records import ColumnRecords

__all__ = ["Triplets", "dissimilar_triplet_ok", "sample_triplets", "triplet_budget"]


@dataclass(frozen=True, eq=False)
class Triplets(ColumnRecords):
    """Triplets ``(first, second, label, target)``: ``second`` carries ``label``; ``target`` 1
    when ``first`` carries it too (similar), 0 when it does not (dissimilar)."""

    first: np.ndarray
    second: np.ndarray
    label: np.ndarray
    target: np.ndarray

    COLUMNS: ClassVar[dict[str, np.dtype]] = {
        "first": np.dtype(np.int64),
        "second": np.dtype(np.int64),
        "label": np.dtype(np.int64),
        "target": np.dtype(np.float32),
    }


def triplet_budget(n_triplets: int) -> Budget:
    """Similar/dissimilar pair counts for ``n_triplets`` (rounding: module docstring)."""
    if n_triplets < 3:
        raise ValueError(
            f"n_triplets must be ≥ 3 (one similar + one dissimilar pair), got {n_triplets}"
        )
    n_dissimilar = (n_triplets - n_triplets // 3) // 2
    return Budget(
        "n_triplets", n_triplets, n_triplets - 2 * n_dissimilar, n_dissimilar, lambda p: max(3, p)
    )


def dissimilar_triplet_ok(
    docs: LabelDocs, d_i: np.ndarray, d_j: np.ndarray, c_i: np.ndarray, c_j: np.ndarray
) -> np.ndarray:
    """Dissimilar pair is valid when ``d_i`` lacks ``c_j`` and ``d_j`` lacks ``c_i``."""
    return ~docs.carries(d_i, c_j) & ~docs.carries(d_j, c_i)


def sample_triplets(
    label_matrix: LabelMatrix | LabelDocs,
    n_triplets: int,
    *,
    min_per_label: int = 10,
    seed: int,
) -> Triplets:
    """Exactly ``n_triplets`` shuffled triplets, similar:dissimilar ≈ 1:2 (METHODS §1.5).

    ``label_matrix``: training labels ``[documents × labels]``, 0/1, dense or scipy.sparse.
    Same ``seed`` → identical triplets.
    """
    budget = triplet_budget(n_triplets)
    rng = np.random.default_rng(seed)
    docs = label_docs(label_matrix)
    rule = dissimilar_triplet_ok
    drawn = draw_pairs(docs, budget, min_per_label=min_per_label, rng=rng, rule=rule)
    order = rng.permutation(n_triplets)
    columns = {
        "first": (drawn.similar_first, drawn.dissimilar_first, drawn.dissimilar_second),
        "second": (drawn.similar_second, drawn.dissimilar_second, drawn.dissimilar_first),
        "label": (drawn.similar_label, drawn.second_label, drawn.first_label),
    }
    target = np.repeat(np.array([1, 0], np.float32), [budget.n_similar, 2 * budget.n_dissimilar])
    return Triplets(
        **{name: np.concatenate(parts)[order] for name, parts in columns.items()},
        target=target[order],
    )
