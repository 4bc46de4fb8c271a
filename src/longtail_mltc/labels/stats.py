"""Label statistics, computed once per corpus and split (METHODS §5).

Everything here derives from the *training* label matrix ``Y`` (``[documents, labels]``, binary,
sparse or dense): counts ``N_c``, priors ``p_c = N_c / N``, head/medium/tail groups (§3.1; cut
points from an absolute or relative rule, :mod:`longtail_mltc.labels.groups`), the hybrid
split at ``N_φ`` (§1.8: ``hybrid_head`` / ``hybrid_tail``, never ``head`` / ``tail``, which name
the frequency groups), WCE weights (§1.2), co-occurrence ``p(i|j)`` and the labels-per-document
histogram. Losses are built from these, never by recounting (§3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from longtail_mltc.labels.groups import GroupRule, parse_group_rule, resolve_group_cuts
from longtail_mltc.labels.index import to_label_matrix

__all__ = [
    "HYBRID_HEAD",
    "HYBRID_TAIL",
    "LabelStatistics",
    "compute_label_statistics",
    "cooccurrence",
    "hybrid_split",
    "label_counts",
    "label_groups",
    "label_priors",
    "label_statistics_from_matrix",
    "labels_per_document",
    "resolve_group_cuts",
    "wce_weights",
]

LabelMatrix = sp.spmatrix | sp.sparray | np.ndarray
HYBRID_HEAD = "hybrid_head"
HYBRID_TAIL = "hybrid_tail"
"""The two sides of HSCNN's ``N_φ`` split, in every run, table, plot and file."""
_OLD_HYBRID_KEYS = {"head": HYBRID_HEAD, "tail": HYBRID_TAIL}  # label_statistics.json before


def _binary_csr(Y: LabelMatrix) -> sp.csr_matrix:
    """Canonical int64 0/1 CSR copy of ``Y`` (int64 so that ``Y.T @ Y`` cannot overflow)."""
    if not sp.issparse(Y):
        Y = np.asarray(Y)
        if Y.ndim != 2:
            raise ValueError(f"label matrix must be 2-D, got shape {Y.shape}")
    B = sp.csr_matrix(Y, copy=True)
    B.sum_duplicates()
    B.data = (B.data != 0).astype(np.int64)
    B.eliminate_zeros()
    return B


def _check_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 1:
        raise ValueError(f"counts must be 1-D, got shape {counts.shape}")
    if counts.size and (counts.min() < 0 or not np.all(np.equal(np.mod(counts, 1), 0))):
        raise ValueError("counts must be non-negative integers")
    return counts.astype(np.int64)


def label_counts(Y: LabelMatrix) -> np.ndarray:
    """``N_c``: number of documents carrying each label (int64 ``[labels]``)."""
    B = _binary_csr(Y)
    return np.bincount(B.indices, minlength=B.shape[1]).astype(np.int64)


def label_priors(counts: np.ndarray, n_docs: int) -> np.ndarray:
    """Class priors ``p_c = N_c / N`` (float64), METHODS §3 NTR-FL and §5."""
    counts = _check_counts(counts)
    if n_docs < 1:
        raise ValueError(f"n_docs must be >= 1, got {n_docs}")
    if counts.size and counts.max() > n_docs:
        raise ValueError(f"a label count ({counts.max()}) exceeds n_docs ({n_docs})")
    return counts / float(n_docs)


def label_groups(counts: np.ndarray, head_min: int, tail_max: int) -> dict[str, np.ndarray]:
    """Head/medium/tail label columns by training count (METHODS §3.1).

    head: ``N_c >= head_min``; tail: ``N_c <= tail_max``; medium: ``tail_max < N_c < head_min``.
    A count equal to a cut point goes to the outer group, so METHODS' Reuters groups
    "head ≥ 35, medium 8–35, tail ≤ 8" are ``head_min=35, tail_max=8`` (medium = 9..34), and
    PubMed's are ``head_min=50, tail_max=15``. Labels with ``N_c = 0`` are tail. Requires
    ``tail_max < head_min``. Values: sorted int64 column indices.
    """
    counts = _check_counts(counts)
    if not tail_max < head_min:
        raise ValueError(f"tail_max ({tail_max}) must be < head_min ({head_min})")
    head = counts >= head_min
    tail = counts <= tail_max
    return {
        "head": np.flatnonzero(head),
        "medium": np.flatnonzero(~head & ~tail),
        "tail": np.flatnonzero(tail),
    }


def hybrid_split(counts: np.ndarray, n_phi: int) -> dict[str, np.ndarray]:
    """HSCNN's hybrid split (METHODS §1.8): ``hybrid_head`` ``N_c >= n_phi``, ``hybrid_tail``
    ``N_c < n_phi`` (named apart from the frequency groups ``head`` / ``tail``)."""
    counts = _check_counts(counts)
    if n_phi < 0:
        raise ValueError(f"n_phi must be >= 0, got {n_phi}")
    head = counts >= n_phi
    return {HYBRID_HEAD: np.flatnonzero(head), HYBRID_TAIL: np.flatnonzero(~head)}


def wce_weights(counts: np.ndarray, n_docs: int, floor: float = 0.01) -> np.ndarray:
    """WCE label weights ``α_c = max(log((N − N_c) / N_c), floor)`` (METHODS §1.2).

    The raw formula is ≤ 0 for ``N_c ≥ N/2``, ``-inf`` for ``N_c = N`` and undefined for
    ``N_c = 0``; all of those get ``floor``. float64 ``[labels]``.
    """
    counts = _check_counts(counts)
    if n_docs < 1:
        raise ValueError(f"n_docs must be >= 1, got {n_docs}")
    if not np.isfinite(floor):
        raise ValueError(f"floor must be finite, got {floor}")
    alpha = np.full(counts.shape, float(floor))
    ok = (counts > 0) & (counts < n_docs)
    alpha[ok] = np.log((n_docs - counts[ok]) / counts[ok])
    return np.maximum(alpha, floor)


def cooccurrence(Y: LabelMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Label co-occurrence counts and conditional probabilities (METHODS §5).

    Returns ``(C, P)``: ``C[i, j]`` = number of documents with both labels i and j (int64,
    diagonal = ``N_j``), computed as sparse ``Yᵀ Y``; ``P[i, j] = p(i | j) = C[i, j] / N_j``
    (float64, column ``j`` all 0 when ``N_j = 0``). Both are dense ``[labels, labels]``: fine for
    thousands of labels (1,000 labels ≈ 16 MB for the pair) but 18,000 labels would need ~5 GB;
    slice columns of ``Y`` first for very large label sets.
    """
    B = _binary_csr(Y)
    C = np.asarray((B.T @ B).toarray(), dtype=np.int64)
    n_j = np.diag(C).astype(np.float64)
    P = np.divide(C, n_j[None, :], out=np.zeros(C.shape, dtype=np.float64), where=n_j[None, :] > 0)
    return C, P


def labels_per_document(Y: LabelMatrix) -> np.ndarray:
    """Histogram ``h[k]`` = number of documents carrying exactly ``k`` labels (int64)."""
    B = _binary_csr(Y)
    return np.bincount(np.diff(B.indptr), minlength=1).astype(np.int64)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # own copy
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class LabelStatistics:
    """Label statistics of one corpus and split (METHODS §5), the input of every loss (§3).

    Constructed from the primary values (index, counts, N, cut points); priors, groups
    (§3.1) and the hybrid split (§1.8) are derived in ``__post_init__``, so they can never be
    inconsistent with the counts. Arrays are read-only. Equality compares :meth:`to_dict`.
    ``group_rule`` records the rule the cut points were resolved from (``{head_quantile: ...}``
    or ``{head_min: ...}``; None in files written before rules existed).
    """

    label_index: tuple[str, ...]
    counts: np.ndarray
    n_docs: int
    head_min: int
    tail_max: int
    n_phi: int
    group_rule: Mapping[str, int | float] | None = None
    priors: np.ndarray = field(init=False, repr=False)
    groups: dict[str, np.ndarray] = field(init=False, repr=False)
    hybrid: dict[str, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        counts = _frozen(_check_counts(self.counts))
        if len(counts) != len(self.label_index):
            raise ValueError(
                f"{len(counts)} counts for {len(self.label_index)} labels in the label index"
            )
        set_ = object.__setattr__
        set_(self, "label_index", tuple(self.label_index))
        set_(self, "counts", counts)
        set_(self, "n_docs", int(self.n_docs))
        if self.group_rule is not None:
            set_(self, "group_rule", parse_group_rule(self.group_rule, key="group_rule").to_dict())
        set_(self, "priors", _frozen(label_priors(counts, self.n_docs)))
        groups = label_groups(counts, self.head_min, self.tail_max)
        set_(self, "groups", {k: _frozen(v) for k, v in groups.items()})
        set_(self, "hybrid", {k: _frozen(v) for k, v in hybrid_split(counts, self.n_phi).items()})

    @property
    def n_labels(self) -> int:
        return len(self.label_index)

    @property
    def empty_groups(self) -> list[str]:
        """Names of the head/medium/tail groups without a label, in that order."""
        return [name for name, members in self.groups.items() if members.size == 0]

    def group_labels(self, group: str) -> list[str]:
        """Label names of a head/medium/tail group."""
        return [self.label_index[j] for j in self.groups[group]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (lists, ints, floats); derived fields included for readers."""
        return {
            "label_index": list(self.label_index),
            "counts": self.counts.tolist(),
            "n_docs": self.n_docs,
            "head_min": int(self.head_min),
            "tail_max": int(self.tail_max),
            "n_phi": int(self.n_phi),
            "group_rule": None if self.group_rule is None else dict(self.group_rule),
            "priors": self.priors.tolist(),
            "groups": {k: v.tolist() for k, v in self.groups.items()},
            "empty_groups": self.empty_groups,
            "hybrid": {k: v.tolist() for k, v in self.hybrid.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelStatistics:
        """Inverse of :meth:`to_dict`; derived fields are recomputed and, if given, checked.

        Files written before group rules existed (no ``group_rule``) load with ``None``; a
        ``hybrid`` split stored as ``head`` / ``tail`` (before ``hybrid_head`` / ``hybrid_tail``)
        is read under the new names.
        """
        stats = cls(
            label_index=tuple(data["label_index"]),
            counts=np.asarray(data["counts"], dtype=np.int64),
            n_docs=data["n_docs"],
            head_min=data["head_min"],
            tail_max=data["tail_max"],
            n_phi=data["n_phi"],
            group_rule=data.get("group_rule"),
        )
        rebuilt = stats.to_dict()
        stored = dict(data)
        if "hybrid" in stored:  # files written before the split had its own names: head / tail
            stored["hybrid"] = {_OLD_HYBRID_KEYS.get(k, k): v for k, v in stored["hybrid"].items()}
        for key in ("groups", "hybrid", "empty_groups"):
            if key in stored and stored[key] != rebuilt[key]:
                raise ValueError(f"stored {key!r} disagree with the counts and cut points")
        return stats

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelStatistics):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays: not hashable


def label_statistics_from_matrix(
    Y: LabelMatrix,
    label_index: Sequence[str],
    *,
    n_phi: int,
    groups: GroupRule | Mapping[str, int | float] | None = None,
    head_min: int | None = None,
    tail_max: int | None = None,
) -> LabelStatistics:
    """:class:`LabelStatistics` of a training label matrix (columns = ``label_index``).

    The cut points come from the rule ``groups`` (absolute or quantiles; None: the default
    quantile rule), resolved on the counts; ``head_min`` / ``tail_max`` override its cuts
    (``head_min=35, tail_max=8`` alone is Reuters' absolute rule).
    """
    if Y.shape[1] != len(label_index):
        raise ValueError(f"Y has {Y.shape[1]} columns for {len(label_index)} labels")
    if groups is None and head_min is not None and tail_max is not None:
        groups = {"head_min": head_min, "tail_max": tail_max}
    rule = parse_group_rule(groups, head_min=head_min, tail_max=tail_max)
    counts = label_counts(Y)
    head_cut, tail_cut = resolve_group_cuts(counts, rule)
    return LabelStatistics(
        label_index=tuple(label_index),
        counts=counts,
        n_docs=Y.shape[0],
        head_min=head_cut,
        tail_max=tail_cut,
        n_phi=n_phi,
        group_rule=rule.to_dict(),
    )


def compute_label_statistics(
    label_lists_train: Iterable[Sequence[str]],
    label_index: Sequence[str],
    *,
    n_phi: int,
    groups: GroupRule | Mapping[str, int | float] | None = None,
    head_min: int | None = None,
    tail_max: int | None = None,
) -> LabelStatistics:
    """:class:`LabelStatistics` of the training documents' label lists (METHODS §5).

    Every training label must be in ``label_index`` (ValueError otherwise); labels of the
    index that no training document carries get ``N_c = 0`` (counted in the quantiles; tail
    under an absolute rule, prior 0). ``groups``, ``head_min``, ``tail_max``: as in
    :func:`label_statistics_from_matrix`.
    """
    Y = to_label_matrix(label_lists_train, label_index, unknown="error")
    return label_statistics_from_matrix(
        Y, label_index, n_phi=n_phi, groups=groups, head_min=head_min, tail_max=tail_max
    )
