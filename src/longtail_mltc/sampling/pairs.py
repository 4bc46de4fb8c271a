"""Plain Siamese pairs without a label, for the /CSS and Naive ablations (METHODS §1.9).

Drawn with the triplet machinery (:mod:`.budget`, :mod:`.draw`): a similar pair is two
different documents of a picked label (so they share at least one label); a dissimilar pair is
one document of each of two picked labels, redrawn until the two documents share no label.

Choices: ``S = n_pairs − n_pairs // 2`` similar and ``D = n_pairs // 2`` dissimilar pairs (the
odd one is similar). Label picks as for triplets: one per similar pair, two per dissimilar
pair, every drawable label at least ``min_per_label`` times among the ``S + 2·D`` picks; the
budget is never grown (``ValueError`` with what is needed). Empty, single-document and universal
labels are handled as in :mod:`.triplets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from longtail_mltc.sampling.budget import Budget
from longtail_mltc.sampling.draw import draw_pairs
from longtail_mltc.sampling.matrix import LabelDocs, LabelMatrix, label_docs
from longtail_mltc.sampling.records import ColumnRecords

__all__ = ["Pairs", "disjoint_pair_ok", "pair_budget", "sample_pairs"]


@dataclass(frozen=True, eq=False)
class Pairs(ColumnRecords):
    """Pairs ``(first, second, target)``: target 1 when the documents share a label, else 0."""

    first: np.ndarray
    second: np.ndarray
    target: np.ndarray

    COLUMNS: ClassVar[dict[str, np.dtype]] = {
        "first": np.dtype(np.int64),
        "second": np.dtype(np.int64),
        "target": np.dtype(np.float32),
    }


def _pairs_for_picks(picks: int) -> int:
    """Smallest ``n_pairs`` whose ``S + 2·D`` picks reach ``picks``."""
    return max(2, (2 * picks + 2) // 3)  # n + n // 2 = ⌊3n/2⌋ ≥ picks ⇔ n ≥ ⌈2·picks/3⌉


def pair_budget(n_pairs: int) -> Budget:
    """Similar/dissimilar pair counts for ``n_pairs`` (the odd pair is similar)."""
    if n_pairs < 2:
        raise ValueError(f"n_pairs must be ≥ 2 (one similar + one dissimilar pair), got {n_pairs}")
    return Budget("n_pairs", n_pairs, n_pairs - n_pairs // 2, n_pairs // 2, _pairs_for_picks)


def disjoint_pair_ok(
    docs: LabelDocs, d_i: np.ndarray, d_j: np.ndarray, c_i: np.ndarray, c_j: np.ndarray
) -> np.ndarray:
    """Dissimilar pair is valid when the two documents share no label."""
    return ~docs.share_label(d_i, d_j)


def sample_pairs(
    label_matrix: LabelMatrix | LabelDocs,
    n_pairs: int,
    *,
    min_per_label: int = 10,
    seed: int,
) -> Pairs:
    """Exactly ``n_pairs`` shuffled plain pairs, similar:dissimilar 1:1 (METHODS §1.9)."""
    budget = pair_budget(n_pairs)
    rng = np.random.default_rng(seed)
    docs = label_docs(label_matrix)
    drawn = draw_pairs(docs, budget, min_per_label=min_per_label, rng=rng, rule=disjoint_pair_ok)
    order = rng.permutation(n_pairs)
    first = np.concatenate([drawn.similar_first, drawn.dissimilar_first])
    second = np.concatenate([drawn.similar_second, drawn.dissimilar_second])
    target = np.repeat(np.array([1, 0], np.float32), [budget.n_similar, budget.n_dissimilar])
    return Pairs(first=first[order], second=second[order], target=target[order])
