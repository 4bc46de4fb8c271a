"""Label picks: which label each pair is drawn from (METHODS §1.5 "every label ≥ T times").

A *label pick* is one label chosen to draw one document from: a similar pair uses one pick
(its shared label ``c``), a dissimilar pair two (``c_i`` and ``c_j``). With S similar and D
dissimilar pairs there are ``S + 2·D`` picks; for triplets that is exactly one pick per triplet
(the triplet's ``label``), which is how the guarantee is counted and tested.

Plan: every drawable label gets ``T = min_per_label`` mandatory picks, then the rest of the
budget is filled with labels drawn uniformly at random. Mandatory picks are split between the
similar and the dissimilar part: single-document labels all to the dissimilar part, universal
labels (:mod:`.matrix`) all to the similar part, every other label gets the same share (±1)
so that the similar part holds about ``S / (S + 2·D)`` of them. The budget never grows: when the
mandatory picks do not fit, a ``ValueError`` says what is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from longtail_mltc.sampling.matrix import LabelDocs

__all__ = ["Budget", "PickPlan", "plan_picks"]


@dataclass(frozen=True)
class Budget:
    """Pair counts derived from a user's request, for the planner and its error messages."""

    name: str  # the argument, e.g. "n_triplets"
    value: int
    n_similar: int
    n_dissimilar: int
    minimum_for: Callable[[int], int]  # smallest value giving at least that many picks

    @property
    def picks(self) -> int:
        return self.n_similar + 2 * self.n_dissimilar


@dataclass(frozen=True, eq=False)
class PickPlan:
    """Labels of the similar pairs and (unpaired) picks of the dissimilar pairs."""

    similar: np.ndarray  # int64 [S]
    dissimilar: np.ndarray  # int64 [2·D], shuffled
    fixed: np.ndarray  # bool [2·D]: mandatory picks, never relabelled while resampling


def _check_feasible(docs: LabelDocs) -> None:
    """Errors for corpora where one kind of pair cannot be drawn at all."""
    if docs.n_labelled_docs < 2:
        raise ValueError(
            f"at least two documents with a label are needed, got {docs.n_labelled_docs}"
        )
    if docs.similar_labels.size == 0:
        raise ValueError("no label has two documents: similar pairs cannot be drawn")
    if docs.dissimilar_labels.size < 2:
        raise ValueError(
            "dissimilar pairs need two labels that are not carried by every labelled document; "
            f"found {docs.dissimilar_labels.size}"
        )


def _check_mandatory(docs: LabelDocs, budget: Budget, t: int) -> None:
    """Errors when ``T`` picks per drawable label do not fit the budget."""
    n_drawable = docs.drawable_labels.size
    need = t * n_drawable
    if need > budget.picks:
        raise ValueError(
            f"min_per_label={t} × {n_drawable} drawable labels = {need:,} label picks, but "
            f"{budget.name}={budget.value:,} gives {budget.picks:,} (one pick per similar pair, "
            f"two per dissimilar pair): raise {budget.name} to at least "
            f"{budget.minimum_for(need):,} or lower min_per_label to at most "
            f"{budget.picks // n_drawable}"
        )
    n_single, n_universal = docs.single_doc_labels.size, docs.universal_labels.size
    if t * n_single > 2 * budget.n_dissimilar:
        raise ValueError(
            f"{n_single} single-document labels × min_per_label={t} need {t * n_single:,} "
            f"dissimilar picks but {budget.name}={budget.value:,} has "
            f"{2 * budget.n_dissimilar:,}: raise {budget.name} or lower min_per_label"
        )
    if t * n_universal > budget.n_similar:
        raise ValueError(
            f"{n_universal} labels carried by every document × min_per_label={t} need "
            f"{t * n_universal:,} similar pairs but {budget.name}={budget.value:,} has "
            f"{budget.n_similar:,}: raise {budget.name} or lower min_per_label"
        )


def _mandatory_counts(
    docs: LabelDocs, budget: Budget, t: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-label mandatory (similar, dissimilar) pick counts, summing to ``T`` per label."""
    single, universal = docs.single_doc_labels, docs.universal_labels
    normal = np.setdiff1d(docs.similar_labels, universal)
    sim = np.zeros(docs.n_labels, dtype=np.int64)
    dis = np.zeros(docs.n_labels, dtype=np.int64)
    dis[single], sim[universal] = t, t
    if normal.size:
        total = t * normal.size
        low = max(0, total - (2 * budget.n_dissimilar - t * single.size))
        high = min(total, budget.n_similar - t * universal.size)
        n_sim = int(np.clip(round(total * budget.n_similar / budget.picks), low, high))
        quotient, remainder = divmod(n_sim, normal.size)
        sim[normal] = quotient
        sim[rng.choice(normal, remainder, replace=False)] += 1
        dis[normal] = t - sim[normal]
    if dis.max(initial=0) > budget.n_dissimilar:
        raise ValueError(
            f"a label needs {dis.max()} dissimilar pairs but {budget.name}={budget.value:,} "
            f"has {budget.n_dissimilar}: raise {budget.name} or lower min_per_label"
        )
    return sim, dis


def plan_picks(
    docs: LabelDocs, budget: Budget, min_per_label: int, rng: np.random.Generator
) -> PickPlan:
    """Mandatory ``T`` picks per drawable label plus uniformly random labels for the rest."""
    _check_feasible(docs)
    _check_mandatory(docs, budget, min_per_label)
    sim, dis = _mandatory_counts(docs, budget, min_per_label, rng)
    labels = np.arange(docs.n_labels, dtype=np.int64)
    n_sim_free = budget.n_similar - int(sim.sum())
    n_dis_free = 2 * budget.n_dissimilar - int(dis.sum())
    similar = np.concatenate([np.repeat(labels, sim), rng.choice(docs.similar_labels, n_sim_free)])
    dissimilar = np.concatenate(
        [np.repeat(labels, dis), rng.choice(docs.dissimilar_labels, n_dis_free)]
    )
    fixed = np.arange(dissimilar.size) < dissimilar.size - n_dis_free
    order = rng.permutation(dissimilar.size)
    return PickPlan(similar.astype(np.int64), dissimilar[order].astype(np.int64), fixed[order])
