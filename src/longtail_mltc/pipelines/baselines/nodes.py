"""Nodes of the linear baselines (METHODS §2.3, §3.1): TF-IDF features, one run per baseline.

Every baseline is fitted on the training split's TF-IDF features; the SVMs shift their global
decision threshold on the validation split (§3.1). Test metrics are named
``test/<group>/<metric>`` with the §3.1 frequency groups of ``label_statistics``; P/R/F1 come
from each model's own decisions (a label powerset predicts label *sets*), P@k / nDCG@k from its
per-label scores.

Switches: ``baselines.enabled.<name>: false`` skips a baseline (no fit, no MLflow run). Its node
then saves :func:`skipped_model` as the model (so no earlier run's ``model.skops`` stays behind
looking current) and ``{"skipped": 1.0}`` as the metrics, and the comparison table marks its row
``status = skipped``.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from longtail_mltc.config_errors import configuration_error
from longtail_mltc.evaluation.reporting import evaluate_decisions_by_group
from longtail_mltc.labels import LabelStatistics
from longtail_mltc.linear import (
    LinearMultiLabelBase,
    dump_baseline,
    fit_linear_baseline,
    tfidf_features,
)
from longtail_mltc.linear.persistence import BASELINE_FILE

from ..configuration_runs import RunRecord, RunSpec, TrackedRun
from ..model_input import split_label_matrices, stored_inverse_propensities

logger = logging.getLogger(__name__)

PIPELINE = "baselines"
BASELINES: tuple[str, ...] = ("br", "cc", "lp", "svm_ovr", "svm_ovr_balanced")
# The run name's <loss> part: what each estimator minimises.
BASELINE_LOSSES = {
    "br": "logistic",
    "cc": "logistic",
    "lp": "logistic",
    "svm_ovr": "hinge",
    "svm_ovr_balanced": "hinge",
}
SPLITS = ("train", "valid", "test")
TABLE_COLUMNS = (
    "test/all/micro_precision",
    "test/all/micro_recall",
    "test/all/micro_f1",
    "test/all/macro_f1",
    "test/all/p_at_1",
    "test/all/ndcg_at_5",
    "test/all/psp_at_5",
    "test/head/micro_f1",
    "test/medium/micro_f1",
    "test/tail/micro_f1",
    "test/tail/macro_f1",
)


def enabled_baselines(baselines: Mapping[str, Any]) -> dict[str, bool]:
    """``baselines.enabled`` checked: every baseline's switch (missing ones default to on).

    Raises:
        ConfigurationError: a name that is no baseline, or a switch that is not true/false.
    """
    switches = baselines.get("enabled") or {}
    if not isinstance(switches, Mapping):
        raise configuration_error(
            "baselines.enabled", "a mapping of baseline name to true/false", switches
        )
    for name, value in switches.items():
        if name not in BASELINES:
            raise configuration_error(
                f"baselines.enabled.{name}", "a known baseline", name, declared=BASELINES
            )
        if not isinstance(value, bool):
            raise configuration_error(f"baselines.enabled.{name}", "true or false", value)
    return {name: switches.get(name, True) for name in BASELINES}


def skipped_model(name: str) -> dict[str, Any]:
    """What a switched-off baseline saves in place of a model: a marker, never a stale model."""
    return {"skipped": True, "baseline": name, "reason": f"baselines.enabled.{name} is false"}


def build_tfidf_features(
    tokenized_documents: pd.DataFrame, corpus_split: pd.DataFrame, baselines: Mapping[str, Any]
) -> dict[str, Any]:
    """Sparse TF-IDF matrices per split, the vocabulary fitted on the training split only."""
    enabled = enabled_baselines(baselines)  # a wrong switch fails before any work
    logger.info(
        "baselines: fitting %s; skipping %s",
        ", ".join(n for n, on in enabled.items() if on) or "none",
        ", ".join(n for n, on in enabled.items() if not on) or "none",
    )
    if not np.array_equal(
        tokenized_documents["doc_id"].to_numpy(), corpus_split["doc_id"].to_numpy()
    ):
        raise ValueError(
            "tokenized_documents and corpus_split list different documents (or orders); "
            "re-run the features pipeline for this corpus"
        )
    split = corpus_split["split"].to_numpy()
    tokens = tokenized_documents["tokens"]
    parts = [[list(t) for t in tokens[split == name]] for name in SPLITS]
    vectorizer, matrices = tfidf_features(parts[0], *parts[1:], **baselines["tfidf"])
    features: dict[str, Any] = dict(zip(SPLITS, matrices, strict=True))
    features["vectorizer"] = vectorizer  # fitted on train: what new documents go through
    logger.info(
        "TF-IDF: %d features; %s",
        len(vectorizer.vocabulary_),
        ", ".join(f"{s} {features[s].shape[0]:,} docs ({features[s].nnz:,} nnz)" for s in SPLITS),
    )
    return features


def plan_baseline(
    baselines: Mapping[str, Any], corpus: str, seed: int, name: str
) -> tuple[dict[str, Any], RunSpec]:
    """One baseline's estimator settings and its MLflow run
    ``<corpus>/baselines/<name>/<logistic|hinge>``. A baseline switched off
    (``baselines.enabled.<name>: false``) gets a run that is never tracked."""
    enabled = enabled_baselines(baselines)[name]
    if not enabled:
        logger.info(
            "%s: skipped (baselines.enabled.%s is false): no fit, no MLflow run", name, name
        )
    params = {"random_state": seed, **dict((baselines.get("estimators") or {}).get(name) or {})}
    spec = RunSpec(
        corpus=corpus,
        pipeline=PIPELINE,
        variant=name,
        loss=BASELINE_LOSSES[name],
        encoder="tfidf",
        params={"corpus": corpus, "seed": seed, "tfidf": baselines["tfidf"], name: params},
        tracked=enabled,
    )
    return {"name": name, "enabled": enabled, "params": params}, spec


def fit_baseline(
    tfidf: dict[str, sp.csr_matrix],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    baseline_plan: Mapping[str, Any],
) -> tuple[LinearMultiLabelBase | dict[str, Any], dict[str, float]]:
    """The fitted estimator (its SVM threshold shifted on validation, §3.1) and its fit time;
    :func:`skipped_model` for a switched-off baseline."""
    name = baseline_plan["name"]
    if not baseline_plan["enabled"]:
        return skipped_model(name), {}
    y = split_label_matrices(corpus_split, label_index, ("train", "valid"))
    logger.info(
        "%s: fitting on %d documents × %d features, %d labels (switch off with "
        "--params baselines.enabled.%s=false)",
        *(name, *tfidf["train"].shape, len(label_index), name),
    )
    started = time.perf_counter()
    model = fit_linear_baseline(
        name, tfidf["train"], y["train"], tfidf["valid"], y["valid"], **baseline_plan["params"]
    )
    return model, {"fit_seconds": time.perf_counter() - started}


def evaluate_baseline(
    baseline_model: LinearMultiLabelBase | dict[str, Any],
    baseline_fit: Mapping[str, float],
    tfidf: dict[str, sp.csr_matrix],
    corpus_split: pd.DataFrame,
    label_index: list[str],
    label_statistics: dict[str, Any],
    baselines: Mapping[str, Any],
    baseline_plan: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics per §3.1 group on validation and test from the model's own decisions and
    per-label scores, and the test scores; ``{"skipped": 1.0}`` for a switched-off one."""
    if not baseline_plan["enabled"]:
        return {"skipped": 1.0}, {}
    y = split_label_matrices(corpus_split, label_index, ("valid", "test"))
    groups = LabelStatistics.from_dict(label_statistics).groups
    ks = tuple(baselines["evaluation"]["ks"])
    propensities = stored_inverse_propensities(label_statistics)
    metrics: dict[str, float] = dict(baseline_fit)
    scores = {}
    for split in ("valid", "test"):
        decisions = baseline_model.predict(tfidf[split])
        decisions = (decisions.toarray() if sp.issparse(decisions) else decisions) > 0
        scores[split] = baseline_model.label_scores(tfidf[split])
        metrics.update(
            evaluate_decisions_by_group(
                y[split], decisions, scores[split], groups, ks, split, propensities
            )
        )
    if hasattr(baseline_model, "shift_threshold"):  # the SVMs' validation-shifted threshold
        metrics["threshold"] = float(baseline_model.threshold_)
    _log_result(baseline_plan["name"], metrics)
    return metrics, {"test": scores["test"]}


def _log_result(name: str, metrics: Mapping[str, float]) -> None:
    logger.info(
        "%s: test micro-F1 %.4f, macro-F1 %.4f, P@1 %.4f (fit %.1f s)",
        name,
        metrics["test/all/micro_f1"],
        metrics["test/all/macro_f1"],
        metrics["test/all/p_at_1"],
        metrics["fit_seconds"],
    )


def record_baseline(
    baseline_model: LinearMultiLabelBase | dict[str, Any],
    baseline_metrics: dict[str, float],
    baseline_scores: dict[str, np.ndarray],
    tfidf: dict[str, Any],
    label_index: list[str],
    baseline_run: TrackedRun,
) -> RunRecord:
    """What the run keeps: final metrics, ``predictions/test_scores.npz`` and ``model/`` (the
    TF-IDF vectoriser and the fitted model as one skops file, no pickle: read it back with
    :func:`longtail_mltc.linear.load_baseline`, and the label index)."""
    if isinstance(baseline_model, dict):  # switched off: its run is not tracked
        return RunRecord(baseline_run)
    return RunRecord(
        baseline_run,
        metrics=baseline_metrics,
        artifacts={
            "predictions": {"test_scores.npz": _npz_bytes(scores=baseline_scores["test"])},
            "model": {
                BASELINE_FILE: dump_baseline(tfidf["vectorizer"], baseline_model),
                "label_index.json": json.dumps(label_index, indent=1),
            },
        },
    )


def compare_baselines(**metrics: dict[str, float]) -> pd.DataFrame:
    """One row per baseline (in pipeline order): ``status`` (fitted/skipped), the test metrics
    of :data:`TABLE_COLUMNS` (empty for a skipped one)."""
    rows = [
        {
            "model": name,
            "status": "skipped" if m.get("skipped") else "fitted",
            **{c: m.get(c, np.nan) for c in TABLE_COLUMNS},
        }
        for name, m in metrics.items()
    ]
    return pd.DataFrame(rows)


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()
