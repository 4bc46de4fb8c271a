"""Drawing similar and dissimilar document pairs from label picks (METHODS §1.5, §1.9).

Shared by the triplet sampler and the plain pair sampler; they differ only in the validity
rule of a dissimilar pair (:data:`PairRule`).

Similar pairs: two distinct documents of the picked label (never resampled). Dissimilar pairs:
the picks are shuffled and paired, one document is drawn per pick, and invalid pairs are
repaired in bulk, round by round (all vectorised; only the rounds loop is Python):

1. every random (non-mandatory) pick of an invalid pair gets a new uniformly random label
   different from its partner's, and both documents of every invalid pair are redrawn;
2. pairs still invalid are matched at random with each other and with as many valid pairs;
   each match swaps one pick's label and draws new documents for both pairs, and a swap is
   kept unless it lowers the number of valid pairs among the two (so equal-label pairs get
   re-paired and the count of valid pairs never drops). Moving the old documents along
   instead can deadlock: when the only pairs a stuck label could join hold documents that
   carry it, every swap would be refused (seen with ``min_per_label`` filling the budget).

Mandatory picks are never relabelled, only moved between pairs, so every label keeps its ``T``
picks; the relabelling slightly favours easily paired labels among the random picks. On
Delicious (300,000 triplets) two rounds suffice.
After :data:`MAX_ROUNDS` rounds with invalid pairs left, a ``ValueError`` names their labels
(labels whose documents carry every label they could be paired with).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from longtail_mltc.sampling.budget import Budget, plan_picks
from longtail_mltc.sampling.matrix import LabelDocs, log_label_report

__all__ = ["MAX_ROUNDS", "DrawnPairs", "PairRule", "draw_pairs"]

logger = logging.getLogger(__name__)

MAX_ROUNDS = 500

# (docs, first docs, second docs, first labels, second labels) -> valid mask
PairRule = Callable[[LabelDocs, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class DrawnPairs:
    """Similar pairs (two documents of ``similar_label``) and dissimilar pairs, where
    ``dissimilar_first`` carries ``first_label`` and ``dissimilar_second`` ``second_label``."""

    similar_first: np.ndarray
    similar_second: np.ndarray
    similar_label: np.ndarray
    dissimilar_first: np.ndarray
    dissimilar_second: np.ndarray
    first_label: np.ndarray
    second_label: np.ndarray
    rounds: int

    def picks(self) -> np.ndarray:
        """Every label pick: one per similar pair, two per dissimilar pair."""
        return np.concatenate([self.similar_label, self.first_label, self.second_label])


def _draw_excluding(pool: np.ndarray, exclude: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform labels from the sorted ``pool`` (size ≥ 2), each different from ``exclude``."""
    pos = np.searchsorted(pool, exclude)
    present = pool[np.minimum(pos, pool.size - 1)] == exclude
    idx = rng.integers(0, pool.size - present)
    return pool[idx + (present & (idx >= pos))]


class _Dissimilar:
    """Dissimilar pairs under repair: per side, each pair's pick (label, document, fixed)."""

    def __init__(self, docs: LabelDocs, picks: np.ndarray, fixed: np.ndarray, rule: PairRule):
        half = picks.size // 2
        self.docs, self.rule = docs, rule
        self.pool = docs.dissimilar_labels
        self.label = [picks[:half].copy(), picks[half:].copy()]
        self.fixed = [fixed[:half].copy(), fixed[half:].copy()]
        self.doc = [np.empty(half, np.int64), np.empty(half, np.int64)]
        self.valid = np.zeros(half, dtype=bool)

    def labels(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.label[0][idx], self.label[1][idx]

    def check(self, idx: np.ndarray) -> np.ndarray:
        return self.rule(self.docs, self.doc[0][idx], self.doc[1][idx], *self.labels(idx))

    def redraw(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw documents for pairs ``idx``; return those still invalid."""
        for side in (0, 1):
            self.doc[side][idx] = self.docs.draw(self.label[side][idx], rng)
        self.valid[idx] = ok = self.check(idx)
        return idx[~ok]

    def relabel(self, idx: np.ndarray, rng: np.random.Generator) -> None:
        """New random labels (≠ the partner's) for the non-mandatory picks of pairs ``idx``."""
        for side in (0, 1):
            free = idx[~self.fixed[side][idx]]
            partner = self.label[1 - side][free]
            self.label[side][free] = _draw_excluding(self.pool, partner, rng)

    def swap(self, p: np.ndarray, q: np.ndarray, side: np.ndarray) -> None:
        """Exchange the side-1 pick (label, fixed flag) of pairs ``p`` with the ``side`` pick
        of pairs ``q`` (``p`` and ``q`` disjoint; applying it twice restores the labels)."""
        on_0, on_1 = side == 0, side == 1
        for arrays in (self.label, self.fixed):
            mine = arrays[1][p]
            arrays[1][p] = np.where(on_1, arrays[1][q], arrays[0][q])
            arrays[0][q[on_0]], arrays[1][q[on_1]] = mine[on_0], mine[on_1]

    def mix(self, bad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Swap picks between random pairs of (invalid + as many valid) pairs and draw new
        documents for both pairs of each swap, keeping a swap unless it lowers the number of
        valid pairs; return the pairs still invalid.

        Fresh documents matter: a valid pair's documents may suit its own labels only (e.g.
        both carry the label an invalid pair needs to be paired with), so keeping them would
        refuse every swap that could repair the plan."""
        valid = np.flatnonzero(self.valid)
        extra = rng.choice(valid, min(bad.size, valid.size), replace=False)
        group = rng.permutation(np.concatenate([bad, extra]))
        half = group.size // 2
        p, q, side = group[:half], group[half : 2 * half], rng.integers(0, 2, half)
        both = np.concatenate([p, q])
        saved_docs = [self.doc[0][both], self.doc[1][both]]
        saved_valid = self.valid[both]
        before = self.valid[p].astype(np.int8) + self.valid[q]
        self.swap(p, q, side)
        self.redraw(both, rng)
        undo = self.valid[p].astype(np.int8) + self.valid[q] < before
        self.swap(p[undo], q[undo], side[undo])
        restore = np.concatenate([undo, undo])
        for s_ in (0, 1):
            self.doc[s_][both[restore]] = saved_docs[s_][restore]
        self.valid[both[restore]] = saved_valid[restore]
        return group[~self.valid[group]]

    def resample(self, rng: np.random.Generator) -> int:
        """Repair until every pair is valid; return the number of rounds."""
        bad = self.redraw(np.arange(self.valid.size), rng)
        rounds = 0
        while bad.size:
            if rounds == MAX_ROUNDS:
                raise self.stuck_error(bad)
            rounds += 1
            self.relabel(bad, rng)
            bad = self.redraw(bad, rng)
            if bad.size:
                bad = self.mix(bad, rng)
        return rounds

    def stuck_error(self, bad: np.ndarray) -> ValueError:
        labels = np.unique(np.concatenate(self.labels(bad)))
        return ValueError(
            f"could not draw {bad.size} valid dissimilar pairs after {MAX_ROUNDS} resampling "
            f"rounds; labels involved: {labels[:20].tolist()} (their documents carry the "
            "labels they can be paired with): lower min_per_label or raise the budget"
        )


def draw_pairs(
    docs: LabelDocs,
    budget: Budget,
    *,
    min_per_label: int,
    rng: np.random.Generator,
    rule: PairRule,
) -> DrawnPairs:
    """Plan the label picks, then draw ``budget``'s similar and valid dissimilar pairs."""
    if min_per_label < 0:
        raise ValueError(f"min_per_label must be ≥ 0, got {min_per_label}")
    log_label_report(docs)
    plan = plan_picks(docs, budget, min_per_label, rng)
    first, second = docs.draw_two(plan.similar, rng)
    state = _Dissimilar(docs, plan.dissimilar, plan.fixed, rule)
    rounds = state.resample(rng)
    logger.info(
        "drew %d similar and %d dissimilar pairs over %d labels (%d resampling rounds)",
        budget.n_similar,
        budget.n_dissimilar,
        docs.drawable_labels.size,
        rounds,
    )
    return DrawnPairs(first, second, plan.similar, *state.doc, *state.label, rounds)
