"""Carve a seeded validation split out of a corpus's training documents.

DESIGN "The canonical Corpus" (validation is carved from train later by a seeded node, per
protocol); METHODS 3.1 (Reuters: 1,000 of the training documents held out) and 1.10 (75/25).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from longtail_mltc.corpora.errors import CorpusError

__all__ = ["VALID_SPLIT", "seeded_test_mask", "split_validation"]

VALID_SPLIT = "valid"


def split_validation(corpus: pd.DataFrame, validation: float | int, seed: int) -> pd.DataFrame:
    """Return a copy of ``corpus`` where a seeded random subset of train documents is "valid".

    ``validation``: an int is an absolute count (Reuters protocol: 1000); a float in (0, 1) is a
    fraction of the train documents, rounded half up, at least 1. The choice depends only on
    the set of train ``doc_id`` values and ``seed`` (train ids are sorted before a
    ``numpy.random.default_rng(seed).permutation``), not on row order. Non-train rows are left
    untouched.
    """
    for column in ("doc_id", "split"):
        if column not in corpus.columns:
            raise CorpusError(f"split_validation needs a {column!r} column")
    if (corpus["split"] == VALID_SPLIT).any():
        raise CorpusError("corpus already has a 'valid' split; split_validation runs once")
    is_train = (corpus["split"] == "train").to_numpy()
    train_ids = np.sort(corpus.loc[is_train, "doc_id"].to_numpy(dtype=object).astype(str))
    if len(np.unique(train_ids)) != len(train_ids):
        raise CorpusError("train doc_id values must be unique to draw a validation split")
    n_valid = _validation_size(validation, len(train_ids))
    chosen = train_ids[np.random.default_rng(seed).permutation(len(train_ids))[:n_valid]]
    result = corpus.copy()
    result.loc[is_train & corpus["doc_id"].isin(chosen).to_numpy(), "split"] = VALID_SPLIT
    return result


def _validation_size(validation: float | int, n_train: int) -> int:
    """Number of validation documents; ``ValueError`` unless 1 <= size < n_train."""
    if isinstance(validation, bool) or not isinstance(validation, numbers.Real):
        raise TypeError(f"validation must be an int count or a float fraction, got {validation!r}")
    if isinstance(validation, numbers.Integral):
        size = int(validation)
    else:
        fraction = float(validation)
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"a validation fraction must lie in (0, 1), got {fraction}")
        size = max(1, math.floor(fraction * n_train + 0.5))
    if size <= 0:
        raise ValueError(f"validation count must be positive, got {size}")
    if size >= n_train:
        raise ValueError(
            f"validation size {size} must be smaller than the {n_train} train documents"
        )
    return size


def seeded_test_mask(
    doc_ids: Sequence[str], test_fraction: float, seed: int, *, where: str
) -> np.ndarray:
    """Boolean mask over ``doc_ids``: the seeded test documents of a corpus without a test file.

    ``test_fraction`` of the documents, rounded half up and at least 1, drawn by
    ``numpy.random.default_rng(seed).permutation`` over the *sorted* ids, so the draw depends on
    the set of ids and the seed, never on row order. ``where`` (the file or corpus) prefixes the
    error when too few documents leave no train document.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a float in (0, 1), got {test_fraction!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    ids = np.asarray([str(doc_id) for doc_id in doc_ids], dtype=object)
    n_test = max(1, math.floor(float(test_fraction) * len(ids) + 0.5))
    if n_test >= len(ids):
        raise CorpusError(
            f"{where}: {len(ids)} document(s) are too few for a test fraction of "
            f"{test_fraction} (train and test both need documents)"
        )
    ordered = np.sort(ids)
    chosen = ordered[np.random.default_rng(seed).permutation(len(ordered))[:n_test]]
    return np.isin(ids, chosen)
