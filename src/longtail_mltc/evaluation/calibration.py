"""Hybrid decision rules, and the calibrated merge chosen on validation (METHODS §1.8).

* :class:`HybridRule` - who decides each label: the single network at its threshold (default),
  the Siamese part at similarity thresholds (``siamese_labels``) or the HSCNN's joint head at
  its own threshold (``joint_labels``).
* :func:`paper_rule` - the paper's rule: labels with ``N_c < N_φ`` go to the Siamese part at
  ``s > 0.5``, the others to the network's head at its head threshold.
* :func:`calibrate_hybrid` - the calibrated rule, chosen on the validation split only: for each
  ``N_φ`` of a grid the tail labels may go, as one group, to the Siamese part or the joint head;
  the best validation macro-F1 wins among merges whose micro-F1 is within ``micro_tolerance`` of
  the single network's (optional per-label routing, ``route=True``). The test split is never
  read.

Why the guard, the tolerance and group choices: docs/hscnn.md#what-the-pipeline-does (the
calibrated merge); ties and threshold rules: docs/hscnn.md#decision-rules-of-the-merges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .merge import merge_by_mask, tail_label_mask
from .metrics import LabelMatrix, f1_from_counts
from .thresholds import search_global_threshold

__all__ = [
    "SOURCES",
    "CalibrationSettings",
    "HybridRule",
    "calibrate_hybrid",
    "paper_rule",
    "single_rule",
]

SOURCES: tuple[str, ...] = ("siamese", "joint")
"""The HSCNN's tail experts a calibrated merge may hand the candidate labels to."""


def _strict(threshold: float) -> float:
    """``τ'`` with ``s > τ'`` ⟺ ``s ≥ τ`` for float32 ``s`` (module doc)."""
    below = np.nextafter(np.float32(threshold), np.float32(-np.inf))
    return float(below)


def _labels(values: Any) -> np.ndarray:
    labels = np.asarray(values, dtype=np.int64).reshape(-1)
    if labels.size and (np.any(np.diff(labels) <= 0) or labels[0] < 0):
        raise ValueError("rule labels must be distinct, ascending, non-negative indices")
    return labels


@dataclass(frozen=True)
class HybridRule:
    """Who decides each label (module doc).

    ``single_threshold``: the base head's global threshold (every label not listed below);
    ``siamese_labels`` / ``siamese_thresholds``: labels decided by the Siamese part, one
    threshold each (assign when ``s > τ``); ``joint_labels`` / ``joint_threshold``: labels
    decided by the joint head (``p ≥ t``); ``n_phi``: the ``N_φ`` the labels were drawn from.
    """

    siamese_labels: np.ndarray
    siamese_thresholds: np.ndarray
    single_threshold: float
    n_phi: int
    name: str = "paper"
    details: Mapping[str, Any] = field(default_factory=dict)
    joint_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    joint_threshold: float = 0.5

    def __post_init__(self) -> None:
        labels = _labels(self.siamese_labels)
        joint = _labels(self.joint_labels)
        thresholds = np.asarray(self.siamese_thresholds, dtype=np.float64).reshape(-1)
        if thresholds.shape != labels.shape:
            raise ValueError(
                f"siamese_labels {labels.shape} and siamese_thresholds {thresholds.shape} must "
                "be 1-D with one threshold per label"
            )
        if np.intersect1d(labels, joint).size:
            raise ValueError(
                "a label cannot be decided by both the Siamese part and the joint head"
            )
        values = (*thresholds, self.single_threshold, self.joint_threshold)
        if np.isnan(values).any():
            raise ValueError("thresholds must not be NaN")
        set_ = object.__setattr__
        set_(self, "siamese_labels", labels)
        set_(self, "siamese_thresholds", thresholds)
        set_(self, "joint_labels", joint)
        set_(self, "single_threshold", float(self.single_threshold))
        set_(self, "joint_threshold", float(self.joint_threshold))
        set_(self, "n_phi", int(self.n_phi))

    def mask(self, n_labels: int) -> np.ndarray:
        """bool ``[n_labels]``: True for the Siamese-decided labels."""
        largest = max(
            (int(a[-1]) for a in (self.siamese_labels, self.joint_labels) if a.size), default=-1
        )
        if largest >= n_labels:
            raise ValueError(f"the rule names label {largest} of {n_labels}")
        out = np.zeros(n_labels, dtype=bool)
        out[self.siamese_labels] = True
        return out

    @property
    def needs_joint_head(self) -> bool:
        return self.joint_labels.size > 0

    def merge(
        self,
        single_probs: np.ndarray,
        siamese_scores: np.ndarray | None,
        joint_probs: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, decisions)`` ``[D, C]``: each label's deciding probabilities or
        similarities side by side (ranked together as they are, §1.8). ``siamese_scores``: full
        width ``[D, C]`` (only the Siamese labels' columns are read) or ``None`` when the rule
        routes no label there; ``joint_probs``: the joint head's ``[D, C]`` when it decides any."""
        single = np.asarray(single_probs)
        if self.siamese_labels.size == 0:
            columns = np.zeros((single.shape[0], 0), dtype=single.dtype)
        elif siamese_scores is None:
            raise ValueError("this rule routes labels to the Siamese part: pass siamese_scores")
        else:
            siamese = np.asarray(siamese_scores)
            if siamese.shape != single.shape:
                raise ValueError(f"siamese_scores {siamese.shape} must match {single.shape}")
            columns = siamese[:, self.siamese_labels]
        return self.merge_columns(single, columns, joint_probs)

    def merge_columns(
        self,
        single_probs: np.ndarray,
        siamese_columns: np.ndarray,
        joint_probs: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`merge` with only the Siamese labels' similarities ``[D, S]`` (in the order of
        ``siamese_labels``), as a predictor scores them."""
        single = np.asarray(single_probs)
        mask = self.mask(single.shape[1])
        columns = np.asarray(siamese_columns)
        thresholds = np.full(mask.size, 0.5)
        thresholds[self.siamese_labels] = self.siamese_thresholds
        scores, decisions = merge_by_mask(
            single,
            columns,
            mask,
            single_threshold=self.single_threshold,
            siamese_threshold=thresholds,
        )
        if self.needs_joint_head:
            if joint_probs is None:
                raise ValueError("this rule hands labels to the joint head: pass joint_probs")
            joint = np.asarray(joint_probs)
            if joint.shape != single.shape:
                raise ValueError(f"joint_probs {joint.shape} must match {single.shape}")
            chosen = joint[:, self.joint_labels]
            scores[:, self.joint_labels] = chosen
            decisions[:, self.joint_labels] = chosen >= np.float32(self.joint_threshold)
        return scores, decisions

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (logged with the run, stored with the predictor)."""
        return {
            "name": self.name,
            "n_phi": self.n_phi,
            "single_threshold": self.single_threshold,
            "siamese_labels": self.siamese_labels.tolist(),
            "siamese_thresholds": self.siamese_thresholds.tolist(),
            "joint_labels": self.joint_labels.tolist(),
            "joint_threshold": self.joint_threshold,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HybridRule:
        return cls(
            siamese_labels=np.asarray(data["siamese_labels"], dtype=np.int64),
            siamese_thresholds=np.asarray(data["siamese_thresholds"], dtype=np.float64),
            single_threshold=float(data["single_threshold"]),
            n_phi=int(data["n_phi"]),
            name=str(data.get("name", "paper")),
            details=dict(data.get("details") or {}),
            joint_labels=np.asarray(data.get("joint_labels", []), dtype=np.int64),
            joint_threshold=float(data.get("joint_threshold", 0.5)),
        )


def paper_rule(
    label_counts: np.ndarray, n_phi: int, single_threshold: float, siamese_threshold: float = 0.5
) -> HybridRule:
    """§1.8 as published: the Siamese part decides every label with ``N_c < N_φ`` at ``s > 0.5``."""
    tail = np.flatnonzero(tail_label_mask(np.asarray(label_counts), n_phi))
    return HybridRule(tail, np.full(tail.size, float(siamese_threshold)), single_threshold, n_phi)


def single_rule(single_threshold: float, n_phi: int = 0, **details: Any) -> HybridRule:
    """The single network alone: no label goes to the Siamese part or the joint head."""
    return HybridRule(
        np.zeros(0, np.int64), np.zeros(0), single_threshold, n_phi, name="single", details=details
    )


@dataclass(frozen=True)
class CalibrationSettings:
    """How :func:`calibrate_hybrid` searches (module doc).

    ``n_phi_grid``: candidate ``N_φ`` values; ``sources``: the tail experts tried (``siamese``,
    ``joint``); ``per_label_min_positives``: validation positives a label needs for its own
    Siamese threshold (``None``: one threshold for the group); ``route``: per-label Siamese
    routing instead of the group choice; ``min_route_positives``: validation positives a label
    needs before it may be routed; ``micro_tolerance``: how far below the single network's
    validation micro-F1 an accepted merge may be.
    """

    n_phi_grid: Sequence[int] = (5, 10, 25, 50, 75, 100, 150, 200, 300)
    sources: Sequence[str] = SOURCES
    per_label_min_positives: int | None = None
    route: bool = False
    min_route_positives: int = 1
    micro_tolerance: float = 0.005

    def __post_init__(self) -> None:
        grid = tuple(sorted({int(v) for v in self.n_phi_grid}))
        if not grid or grid[0] < 0:
            raise ValueError(f"n_phi_grid must hold non-negative values, got {self.n_phi_grid}")
        object.__setattr__(self, "n_phi_grid", grid)
        sources = tuple(self.sources)
        unknown = sorted(set(sources) - set(SOURCES))
        if unknown or not sources:
            raise ValueError(f"sources must be a non-empty subset of {SOURCES}, got {sources}")
        object.__setattr__(self, "sources", tuple(s for s in SOURCES if s in sources))
        if self.per_label_min_positives is not None and self.per_label_min_positives < 1:
            raise ValueError(
                f"per_label_min_positives must be ≥ 1 or None, got {self.per_label_min_positives}"
            )
        if not 0.0 <= self.micro_tolerance < 1.0:
            raise ValueError(f"micro_tolerance must be in [0, 1), got {self.micro_tolerance}")
        if self.min_route_positives < 1:
            raise ValueError(f"min_route_positives must be ≥ 1, got {self.min_route_positives}")


def _column_counts(
    y: np.ndarray, decisions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column TP, FP, FN of boolean decisions against dense boolean labels."""
    tp = np.count_nonzero(decisions & y, axis=0)
    fp = np.count_nonzero(decisions & ~y, axis=0)
    fn = np.count_nonzero(~decisions & y, axis=0)
    return tp, fp, fn


def _micro(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> float:
    return float(f1_from_counts(tp.sum(), fp.sum(), fn.sum()))


def _scores(y: np.ndarray, decisions: np.ndarray) -> tuple[float, float]:
    """Micro- and macro-F1 of boolean decisions."""
    tp, fp, fn = _column_counts(y, decisions)
    return _micro(tp, fp, fn), float(f1_from_counts(tp, fp, fn).mean())


def _dense_bool(y: LabelMatrix) -> np.ndarray:
    return (y.toarray() if hasattr(y, "toarray") else np.asarray(y)) != 0


class _Search:
    """The validation data of one calibration and the base (the single network)."""

    def __init__(self, y, single, siamese, joint, single_threshold, settings) -> None:
        self.y, self.siamese, self.joint, self.settings = y, siamese, joint, settings
        self.single_threshold = single_threshold
        self.base = single >= np.float32(single_threshold)
        self.base_micro, self.base_macro = _scores(y, self.base)
        self.guard_micro = self.base_micro - settings.micro_tolerance
        self.joint_threshold = None
        if joint is not None:
            self.joint_threshold = float(search_global_threshold(y, joint)[0])

    def siamese_taus(self, candidates: np.ndarray) -> tuple[np.ndarray, float]:
        """``τ_c`` of each candidate: the group's best micro-F1 threshold, or the label's own
        with enough validation positives (``per_label_min_positives``)."""
        y, scores = self.y[:, candidates], self.siamese[:, candidates]
        global_tau = _strict(search_global_threshold(y, scores)[0])
        taus = np.full(candidates.size, global_tau)
        least = self.settings.per_label_min_positives
        if least is not None:
            for position in np.flatnonzero(y.sum(axis=0) >= least):
                column = candidates[position]
                own, _ = search_global_threshold(self.y[:, [column]], self.siamese[:, [column]])
                taus[position] = _strict(own)
        return taus, global_tau

    def rule(self, source: str, candidates: np.ndarray, n_phi: int) -> HybridRule:
        """Every candidate handed to ``source`` (``siamese`` or ``joint``)."""
        details: dict[str, Any] = {"source": source}
        if source == "joint":
            return HybridRule(
                np.zeros(0, np.int64),
                np.zeros(0),
                self.single_threshold,
                n_phi,
                name="calibrated",
                details=details,
                joint_labels=candidates,
                joint_threshold=self.joint_threshold,
            )
        taus, global_tau = self.siamese_taus(candidates)
        details = {**details, "global_siamese_threshold": global_tau}
        if self.settings.route:
            return self.routed(candidates, taus, n_phi, details)
        return HybridRule(
            candidates, taus, self.single_threshold, n_phi, name="calibrated", details=details
        )

    def routed(
        self, candidates: np.ndarray, taus: np.ndarray, n_phi: int, details: dict
    ) -> HybridRule:
        """Per-label Siamese routing with the greedy guard (module doc, ``route=True``)."""
        y = self.y
        s_tp, s_fp, s_fn = _column_counts(y[:, candidates], self.siamese[:, candidates] > taus)
        tp, fp, fn = (np.asarray(a).copy() for a in _column_counts(y, self.base))
        single_counts = [a[candidates].copy() for a in (tp, fp, fn)]
        gain = f1_from_counts(s_tp, s_fp, s_fn) - f1_from_counts(*single_counts)
        positives = y[:, candidates].sum(axis=0)
        routed = (gain > 0) & (positives >= self.settings.min_route_positives)
        for arr, new in zip((tp, fp, fn), (s_tp, s_fp, s_fn), strict=True):
            arr[candidates[routed]] = new[routed]
        returned = 0
        while routed.any() and _micro(tp, fp, fn) < self.guard_micro:
            best, best_micro = -1, -np.inf
            for position in np.flatnonzero(routed):  # the return that helps micro-F1 most
                trial = [a.copy() for a in (tp, fp, fn)]
                for arr, back in zip(trial, single_counts, strict=True):
                    arr[candidates[position]] = back[position]
                micro = _micro(*trial)
                if micro > best_micro:
                    best, best_micro = position, micro
            for arr, back in zip((tp, fp, fn), single_counts, strict=True):
                arr[candidates[best]] = back[best]
            routed[best] = False
            returned += 1
        details = {**details, "routed": int(routed.sum()), "returned_by_guard": returned}
        return HybridRule(
            candidates[routed],
            taus[routed],
            self.single_threshold,
            n_phi,
            name="calibrated",
            details=details,
        )


def calibrate_hybrid(
    y_valid: LabelMatrix,
    single_probs: np.ndarray,
    siamese_scores: np.ndarray | None,
    label_counts: np.ndarray,
    single_threshold: float,
    settings: CalibrationSettings | None = None,
    joint_probs: np.ndarray | None = None,
) -> HybridRule:
    """The calibrated hybrid rule chosen on the validation split (module doc).

    ``single_probs``: the single network's validation probabilities ``[D, C]`` and
    ``single_threshold`` its own validation-chosen threshold (the base and the guard);
    ``siamese_scores``: validation similarities of every label that may be routed (full width;
    ``None``: no Siamese source); ``joint_probs``: the joint head's validation probabilities
    (``None``: no joint source); ``label_counts``: the training ``N_c`` that define the
    candidates at each ``N_φ``. The rule's ``details`` record the search: per ``N_φ`` and
    source, the validation micro- and macro-F1 and whether the guard allowed it.
    """
    settings = settings or CalibrationSettings()
    y = _dense_bool(y_valid)
    single = np.asarray(single_probs)
    counts = np.asarray(label_counts)
    arrays = {"single": single, "siamese": siamese_scores, "joint": joint_probs}
    for name, array in arrays.items():
        if array is not None and np.shape(array) != y.shape:
            raise ValueError(f"{name} scores {np.shape(array)} must match the labels {y.shape}")
    if counts.shape != (y.shape[1],):
        raise ValueError(f"label_counts {counts.shape} must have one count per label")
    siamese = None if siamese_scores is None else np.asarray(siamese_scores, dtype=np.float32)
    joint = None if joint_probs is None else np.asarray(joint_probs)
    search = _Search(y, single, siamese, joint, single_threshold, settings)
    best = single_rule(
        single_threshold,
        valid_micro_f1=search.base_micro,
        valid_macro_f1=search.base_macro,
        valid_single_micro_f1=search.base_micro,
    )
    best_macro = search.base_macro
    searched: dict[str, dict[str, Any]] = {}
    available = {"siamese": siamese is not None, "joint": joint is not None}
    for n_phi in settings.n_phi_grid:
        candidates = np.flatnonzero(tail_label_mask(counts, n_phi) & (counts > 0))
        if candidates.size == 0:
            continue
        for source in settings.sources:
            if not available[source]:
                continue
            if source == "siamese" and not np.isfinite(siamese[:, candidates]).all():
                raise ValueError(f"Siamese scores of the labels under N_φ={n_phi} must be finite")
            rule = search.rule(source, candidates, n_phi)
            micro, macro = _scores(y, rule.merge(single, siamese, joint)[1])
            allowed = micro >= search.guard_micro
            searched[f"{source}@{n_phi}"] = {
                "candidates": int(candidates.size),
                "valid_micro_f1": micro,
                "valid_macro_f1": macro,
                "guard": "pass" if allowed else "fail",
            }
            if allowed and macro > best_macro:
                best_macro = macro
                best = HybridRule(
                    rule.siamese_labels,
                    rule.siamese_thresholds,
                    rule.single_threshold,
                    rule.n_phi,
                    name="calibrated",
                    details={
                        **rule.details,
                        "candidates": int(candidates.size),
                        "valid_micro_f1": micro,
                        "valid_macro_f1": macro,
                        "valid_single_micro_f1": search.base_micro,
                    },
                    joint_labels=rule.joint_labels,
                    joint_threshold=rule.joint_threshold,
                )
    return HybridRule(
        best.siamese_labels,
        best.siamese_thresholds,
        best.single_threshold,
        best.n_phi,
        name="calibrated",
        details={
            **best.details,
            "source": best.details.get("source", "single"),
            "search": searched,
        },
        joint_labels=best.joint_labels,
        joint_threshold=best.joint_threshold,
    )
