"""The catalog's skops dataset (TF-IDF features, fitted baselines in ``data/``): round trips the
real objects and never runs code from a file it loads."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from kedro.io import DatasetError

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
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()

    def swap(node):
        if isinstance(node, dict):
            if node.get("__module__") == "longtail_mltc.linear.features":
                node.update({"__module__": "os", "__class__": "system"})
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)
        return node

    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "schema.json":
                content = json.dumps(swap(json.loads(content))).encode()
            target.writestr(item, content)
    path.write_bytes(out.getvalue())
    with pytest.raises(DatasetError, match=r"refusing to load.*'os\.system'"):
        SkopsDataset(str(path)).load()


def test_an_object_it_could_not_load_back_is_refused_and_nothing_written(tmp_path):
    path = tmp_path / "model.skops"
    with pytest.raises(DatasetError, match="holds types this dataset would refuse"):
        SkopsDataset(str(path)).save({"call": os.system})
    assert list(tmp_path.iterdir()) == []
