"""The catalog's skops dataset (TF-IDF features, fitted baselines in ``data/``): round trips the
real objects and never runs code from a file it loads."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from kedro.io import DatasetError
from skops_tampering import renaming, with_schema

from longtail_mltc.datasets import SkopsDataset
from longtail_mltc.linear import fit_linear_baseline, tfidf_features

DOCS = [["oil", "price", "rose"], ["wheat", "grain"], ["oil", "output", "cut"], ["grain"]]


class _Marker:
    """Unpickling this writes a file: the proof that a pickle ran code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def features():
    vectorizer, (train, test) = tfidf_features(DOCS, DOCS[:2])
    return {"train": train, "test": test, "vectorizer": vectorizer}


def test_tfidf_features_and_a_baseline_round_trip(tmp_path, features):
    dataset = SkopsDataset(str(tmp_path / "tfidf_features.skops"))
    dataset.save(features)
    loaded = dataset.load()
    assert set(loaded) == {"train", "test", "vectorizer"}
    assert (loaded["train"] != features["train"]).nnz == 0
    assert loaded["vectorizer"].vocabulary_ == features["vectorizer"].vocabulary_
    new = loaded["vectorizer"].transform([["oil", "grain"]])
    np.testing.assert_allclose(  # same transform: a float tolerance, not bit equality
        new.toarray(), features["vectorizer"].transform([["oil", "grain"]]).toarray(), atol=1e-12
    )

    y = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.uint8))
    model = fit_linear_baseline("br", features["train"], y)
    model_set = SkopsDataset(str(tmp_path / "model.skops"))
    model_set.save(model)
    np.testing.assert_allclose(
        model_set.load().label_scores(features["test"]),
        model.label_scores(features["test"]),
        atol=1e-9,
    )


def test_a_pickle_in_place_of_the_file_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(_Marker(str(marker))))
    with pytest.raises(DatasetError, match=f"{path}: not a skops file"):
        SkopsDataset(str(path)).load()
    assert not marker.exists()


def test_a_file_naming_os_system_is_refused_before_anything_is_built(tmp_path, features):
    path = tmp_path / "tfidf_features.skops"
    SkopsDataset(str(path)).save(features)
    swap = renaming({("longtail_mltc.linear.features", "*"): ("os", "system")})
    path.write_bytes(with_schema(path.read_bytes(), swap))
    with pytest.raises(DatasetError, match=r"refusing to load.*'os\.system'"):
        SkopsDataset(str(path)).load()


def test_an_object_it_could_not_load_back_is_refused_and_nothing_written(tmp_path):
    path = tmp_path / "model.skops"
    with pytest.raises(DatasetError, match="holds types this dataset would refuse"):
        SkopsDataset(str(path)).save({"call": os.system})
    assert list(tmp_path.iterdir()) == []
