"""Tests for longtail_mltc.linear: TF-IDF features and linear baselines (METHODS §2.3, §3.1)."""

from __future__ import annotations

import logging
import math
import pickle
import re
import warnings
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain

from longtail_mltc.corpora.reuters import read_reuters21578
from longtail_mltc.evaluation.metrics import evaluate, precision_at_k
from longtail_mltc.labels import to_label_matrix
from longtail_mltc.linear import (
    LINEAR_BASELINES,
    BinaryRelevance,
    ClassifierChains,
    LabelPowerset,
    LinearSVMOneVsRest,
    build_linear_baseline,
    dump_baseline,
    fit_linear_baseline,
    load_baseline,
    tfidf_features,
    unique_label_sets,
)
from longtail_mltc.linear.progress import format_bytes, solver_memory_estimate
from longtail_mltc.text import tokenize_texts

N_FEATURES = 80
N_LABELS = 6


@pytest.fixture(scope="module")
def data() -> dict[str, sp.csr_matrix]:
    """A small bag-of-words multi-label problem as TF-IDF: train 120, val 40, test 60 docs."""
    counts, labels = make_multilabel_classification(
        n_samples=220,
        n_features=N_FEATURES,
        n_classes=N_LABELS,
        n_labels=2,
        length=40,
        sparse=True,
        return_indicator="sparse",
        random_state=0,
    )
    X = sp.csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(counts), dtype=np.float32)
    Y = sp.csr_matrix(labels, dtype=np.uint8)
    assert (np.asarray(Y[:120].sum(axis=0)).ravel() > 0).all()  # every label seen in training
    return {
        "X_train": X[:120],
        "Y_train": Y[:120],
        "X_val": X[120:160],
        "Y_val": Y[120:160],
        "X_test": X[160:],
        "Y_test": Y[160:],
    }


def logistic() -> LogisticRegression:
    """The learner the BR/CC defaults document (L2, liblinear, C=1, seeded)."""
    return LogisticRegression(C=1.0, solver="liblinear", max_iter=1000, tol=1e-4, random_state=0)


def dense(m) -> np.ndarray:
    return m.toarray() if sp.issparse(m) else np.asarray(m)


# ----------------------------------------------------------------------------------------------
# TF-IDF features
# ----------------------------------------------------------------------------------------------

TRAIN_ZH = [["电影", "好看", "好看"], ["电影", "无聊"], ["好看", "剧情"]]
TEST_ZH = [["好看", "新词", "电影"]]


def reference_tfidf(docs, vocab: dict[str, int], n_train: int, df: dict[str, int], sublinear):
    """Smooth idf ln((1+n)/(1+df)) + 1, tf or 1 + ln tf, l2-normalised rows (by hand)."""
    out = np.zeros((len(docs), len(vocab)))
    for i, doc in enumerate(docs):
        for token in set(doc) & set(vocab):
            tf = doc.count(token)
            tf = 1 + math.log(tf) if sublinear else tf
            out[i, vocab[token]] = tf * (math.log((1 + n_train) / (1 + df[token])) + 1)
        norm = np.linalg.norm(out[i])
        out[i] /= norm if norm else 1.0
    return out


@pytest.mark.parametrize("sublinear", [True, False])
def test_tfidf_chinese_tokens_match_hand_formula(sublinear: bool) -> None:
    vectorizer, (X_train, X_test) = tfidf_features(TRAIN_ZH, TEST_ZH, sublinear_tf=sublinear)
    assert set(vectorizer.vocabulary_) == {"电影", "好看", "无聊", "剧情"}  # train only
    for X in (X_train, X_test):
        assert isinstance(X, sp.csr_matrix) and X.dtype == np.float32
    df = {"电影": 2, "好看": 2, "无聊": 1, "剧情": 1}
    vocab = vectorizer.vocabulary_
    np.testing.assert_allclose(
        X_train.toarray(), reference_tfidf(TRAIN_ZH, vocab, 3, df, sublinear), rtol=1e-6
    )
    np.testing.assert_allclose(
        X_test.toarray(), reference_tfidf(TEST_ZH, vocab, 3, df, sublinear), rtol=1e-6
    )


def test_tfidf_defaults_are_raw_counts_like_the_published_baseline() -> None:
    """scikit-learn's defaults (raw tf, min_df 1): a repeated topic word keeps its weight."""
    docs = [["rye", "rye", "rye", "said"], ["said", "wheat"], ["said", "rye"]]
    vectorizer, (X,) = tfidf_features(docs)
    assert vectorizer.sublinear_tf is False and vectorizer.min_df == 1
    df = {"rye": 2, "said": 3, "wheat": 1}
    vocab = vectorizer.vocabulary_
    np.testing.assert_allclose(X.toarray(), reference_tfidf(docs, vocab, 3, df, False), rtol=1e-6)
    idf = {t: math.log(4 / (1 + n)) + 1 for t, n in df.items()}
    ratio = X[0, vocab["rye"]] / X[0, vocab["said"]]
    assert ratio == pytest.approx(3 * idf["rye"] / idf["said"], rel=1e-6)  # not (1 + ln 3)
    _, (X_sub,) = tfidf_features(docs, sublinear_tf=True)
    assert X_sub[0, vocab["rye"]] < X[0, vocab["rye"]]


def test_tfidf_min_df_counts_training_documents_not_occurrences() -> None:
    train = [["gold", "gold", "gold", "mine"], ["mine", "said"], ["said", "rand"]]
    test = [["gold", "rand", "rand", "mine"]]
    vectorizer, (_, X_test) = tfidf_features(train, test, min_df=2)
    assert set(vectorizer.vocabulary_) == {"mine", "said"}  # "gold": 3 times, one document
    assert X_test.nnz == 1 and X_test[0, vectorizer.vocabulary_["mine"]] == pytest.approx(1.0)
    vectorizer, _ = tfidf_features(train, test, min_df=1)
    assert set(vectorizer.vocabulary_) == {"gold", "mine", "said", "rand"}


def test_tfidf_uses_tokens_verbatim() -> None:
    """No lowercasing, no token pattern: one-letter, dotted and apostrophe tokens survive
    (scikit-learn's text analyser would drop "a" and split "can't" and "u.s")."""
    docs = [["U.S", "u.s", "can't", "3.5bn", "a", "电影"]]
    vectorizer, (X,) = tfidf_features(docs)
    assert set(vectorizer.vocabulary_) == set(docs[0]) and X.nnz == 6


def test_tfidf_min_df_and_max_features() -> None:
    vec, (X,) = tfidf_features(TRAIN_ZH, min_df=2)
    assert set(vec.vocabulary_) == {"电影", "好看"} and X.shape == (3, 2)
    vec, _ = tfidf_features(TRAIN_ZH, max_features=1)
    assert set(vec.vocabulary_) == {"好看"}  # 3 occurrences, the most frequent token
    vec, (X,) = tfidf_features([["a", "b", "c"]], ngram_range=(1, 2))
    assert set(vec.vocabulary_) == {"a", "b", "c", "a b", "b c"}


def test_tfidf_rejects_raw_strings_and_pickles() -> None:
    with pytest.raises(TypeError, match="tokenised"):
        tfidf_features(["电影 好看", "无聊"])
    vectorizer, (X,) = tfidf_features(TRAIN_ZH)
    again = pickle.loads(pickle.dumps(vectorizer))
    assert (again.transform(TRAIN_ZH) != X).nnz == 0


def test_chinese_tokens_end_to_end() -> None:
    train = [["电影", "好看"], ["好看", "演员"], ["电影", "无聊"], ["无聊", "剧情"]]
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])  # label 0 = "好看" docs, label 1 = "无聊"
    _, (X_train, X_test) = tfidf_features(train, [["剧情", "好看"], ["无聊"]])
    for name in LINEAR_BASELINES:
        model = build_linear_baseline(name, C=10.0).fit(X_train, Y)
        assert model.label_scores(X_test).argmax(axis=1).tolist() == [0, 1], name


# ----------------------------------------------------------------------------------------------
# Binary Relevance and the project's metrics
# ----------------------------------------------------------------------------------------------


def test_binary_relevance_matches_one_vs_rest(data) -> None:
    X, Y, X_test = data["X_train"], data["Y_train"], data["X_test"]
    model = BinaryRelevance().fit(X, Y)
    reference = OneVsRestClassifier(logistic()).fit(X, Y)
    assert np.array_equal(dense(model.predict(X_test)), dense(reference.predict(X_test)))
    np.testing.assert_allclose(model.predict_proba(X_test), reference.predict_proba(X_test))


def test_evaluate_f1_equals_sklearn_on_br_predictions(data) -> None:
    """The project's micro/macro F1 equal sklearn's (zero_division=0) on BR predictions.

    Two extra labels have no test positive: one never predicted, one predicted for 3 documents.
    Both count in ``macro_f1`` with F1 = 0 (the metrics module's convention, and sklearn's with
    ``zero_division=0``); ``macro_f1_present`` averages over the labels with a positive only.
    """
    model = BinaryRelevance().fit(data["X_train"], data["Y_train"])
    pred = dense(model.predict(data["X_test"]))
    n = pred.shape[0]
    fp_only = np.zeros((n, 1), dtype=pred.dtype)
    fp_only[:3] = 1
    pred = np.hstack([pred, np.zeros((n, 1), dtype=pred.dtype), fp_only])
    y = np.hstack([dense(data["Y_test"]), np.zeros((n, 2), dtype=np.uint8)])
    out = evaluate(sp.csr_matrix(y), pred.astype(np.float64), threshold=0.5)
    assert out["micro_f1"] == pytest.approx(f1_score(y, pred, average="micro", zero_division=0))
    assert out["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    present = np.flatnonzero(y.sum(axis=0) > 0)
    assert present.size == N_LABELS
    assert out["macro_f1_present"] == pytest.approx(
        f1_score(y, pred, labels=present, average="macro", zero_division=0)
    )
    assert out["macro_f1_present"] > out["macro_f1"]


def test_decision_values_work_as_ranking_scores(data) -> None:
    y = np.hstack([dense(data["Y_test"]), np.zeros((60, 1), dtype=np.uint8)])
    Y_train = sp.hstack([data["Y_train"], sp.csr_matrix((120, 1))]).tocsr()  # never-seen label
    scores = LinearSVMOneVsRest().fit(data["X_train"], Y_train).decision_function(data["X_test"])
    assert np.isneginf(scores[:, -1]).all()
    top1 = scores.argmax(axis=1)
    kept = y.sum(axis=1) > 0
    expected = y[np.arange(60), top1][kept].mean()  # P@1 by hand
    assert precision_at_k(y, scores, 1) == pytest.approx(expected)


# ----------------------------------------------------------------------------------------------
# Label Powerset
# ----------------------------------------------------------------------------------------------


def rows_as_sets(m) -> list[tuple[int, ...]]:
    return [tuple(np.flatnonzero(row)) for row in dense(m)]


def test_label_powerset_recovers_separable_problem() -> None:
    label_sets = [(0,), (0, 1), (2,), (1, 2, 3), ()]
    rng = np.random.default_rng(0)
    classes = np.repeat(np.arange(len(label_sets)), 8)
    n_docs = classes.size
    X = np.hstack([np.eye(len(label_sets))[classes], 0.1 * rng.random((n_docs, 20))])
    Y = np.zeros((n_docs, 4), dtype=np.uint8)
    for i, c in enumerate(classes):
        Y[i, list(label_sets[c])] = 1
    model = LabelPowerset(C=100.0).fit(sp.csr_matrix(X), sp.csr_matrix(Y))
    assert sorted(rows_as_sets(model.label_sets_)) == sorted(label_sets)
    X_new = np.hstack([np.eye(len(label_sets)), 0.1 * rng.random((len(label_sets), 20))])
    assert rows_as_sets(model.predict(sp.csr_matrix(X_new))) == label_sets


def test_label_powerset_predicts_only_training_sets(data) -> None:
    model = LabelPowerset().fit(data["X_train"], data["Y_train"])
    seen = set(rows_as_sets(data["Y_train"]))
    predicted = rows_as_sets(model.predict(data["X_test"]))
    assert set(predicted) <= seen
    assert len(seen) == model.label_sets_.shape[0]


def test_label_powerset_scores_are_summed_class_probabilities(data) -> None:
    model = LabelPowerset().fit(data["X_train"], data["Y_train"])
    proba = model.classifier_.predict_proba(data["X_test"])
    sets = rows_as_sets(model.label_sets_)
    expected = np.zeros((60, N_LABELS))
    for i in range(60):  # plain loops: the reference
        for k, labels in enumerate(sets):
            for label in labels:
                expected[i, label] += proba[i, k]
    np.testing.assert_allclose(model.label_scores(data["X_test"]), expected, atol=1e-12)
    assert (expected <= 1 + 1e-12).all()


def test_label_powerset_min_set_count_prunes_rare_sets(data) -> None:
    _, _, counts = unique_label_sets(data["Y_train"])
    model = LabelPowerset(min_set_count=3).fit(data["X_train"], data["Y_train"])
    assert model.label_sets_.shape[0] == (counts >= 3).sum() < counts.size
    frequent = {s for s, c in Counter(rows_as_sets(data["Y_train"])).items() if c >= 3}
    assert set(rows_as_sets(model.predict(data["X_test"]))) <= frequent
    with pytest.raises(ValueError, match="min_set_count"):
        LabelPowerset(min_set_count=10_000).fit(data["X_train"], data["Y_train"])


@settings(max_examples=60, deadline=None)
@given(
    n_docs=st.integers(1, 15),
    n_labels=st.integers(1, 6),
    density=st.sampled_from([0.0, 0.2, 0.6, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_unique_label_sets_matches_python_sets(n_docs, n_labels, density, seed) -> None:
    y = (np.random.default_rng(seed).random((n_docs, n_labels)) < density).astype(np.uint8)
    sets, inverse, counts = unique_label_sets(sp.csr_matrix(y))
    rows = [tuple(r) for r in y.tolist()]
    assert sets.shape[0] == len(set(rows))
    assert np.array_equal(sets.toarray()[inverse], y)
    assert np.array_equal(counts, np.bincount(inverse))


# ----------------------------------------------------------------------------------------------
# Classifier Chains
# ----------------------------------------------------------------------------------------------


def test_classifier_chains_seeded_and_equal_to_sklearn(data) -> None:
    X, Y, X_test = data["X_train"], data["Y_train"], data["X_test"]
    first = ClassifierChains(random_state=3).fit(X, Y)
    again = ClassifierChains(random_state=3).fit(X, Y)
    assert np.array_equal(first.predict_proba(X_test), again.predict_proba(X_test))
    reference = ClassifierChain(logistic(), order="random", random_state=3).fit(X, Y.toarray())
    np.testing.assert_allclose(first.predict_proba(X_test), reference.predict_proba(X_test))
    assert np.array_equal(dense(first.predict(X_test)), reference.predict(X_test))
    orders = {tuple(ClassifierChains(random_state=s).fit(X, Y).classifier_.order_) for s in (0, 1)}
    assert len(orders) == 2  # the seed picks the order


def test_classifier_chains_explicit_order_skips_constant_labels(data) -> None:
    n = data["Y_train"].shape[0]
    # label 2 never positive: the chain runs over the other labels in the given order
    Y = sp.hstack([data["Y_train"][:, :2], sp.csr_matrix((n, 1)), data["Y_train"][:, 2:]])
    model = ClassifierChains(order=[6, 2, 0, 5, 4, 3, 1]).fit(data["X_train"], Y.tocsr())
    assert model.active_labels_[model.classifier_.order_].tolist() == [6, 0, 5, 4, 3, 1]
    with pytest.raises(ValueError, match="permutation"):
        ClassifierChains(order=[0, 1]).fit(data["X_train"], Y.tocsr())


# ----------------------------------------------------------------------------------------------
# Linear SVM with a shifted threshold
# ----------------------------------------------------------------------------------------------


def brute_force_grid(y: np.ndarray, scores: np.ndarray, grid) -> tuple[float, float]:
    """Largest grid point with the best micro-F1 (sklearn), by a loop over the grid."""
    f1 = [f1_score(y.ravel(), (scores.ravel() >= t).astype(int)) for t in grid]
    best = max(i for i, v in enumerate(f1) if v == max(f1))
    return float(grid[best]), f1[best]


@pytest.mark.parametrize("name", ["svm_ovr", "svm_ovr_balanced"])
def test_svm_threshold_is_best_grid_point(data, name: str) -> None:
    grid = np.round(np.linspace(-1.5, 1.0, 26), 2)
    model = build_linear_baseline(name, threshold_grid=grid)
    model.fit(data["X_train"], data["Y_train"], data["X_val"], data["Y_val"])
    scores = model.decision_function(data["X_val"])
    expected_t, expected_f1 = brute_force_grid(dense(data["Y_val"]), scores, grid)
    assert model.threshold_ == expected_t
    assert model.validation_micro_f1_ == pytest.approx(expected_f1)
    test_scores = model.decision_function(data["X_test"])
    assert np.array_equal(dense(model.predict(data["X_test"])), test_scores >= expected_t)
    exact = build_linear_baseline(name).fit(data["X_train"], data["Y_train"])
    assert exact.threshold_ == 0.0 and exact.validation_micro_f1_ is None
    exact.shift_threshold(data["X_val"], data["Y_val"])  # threshold_grid=None: every value
    assert exact.validation_micro_f1_ >= expected_f1 - 1e-12


def test_svm_threshold_shift_on_constructed_validation(data) -> None:
    """Validation labels = decision >= -0.35: only the shifted grid point -0.35 gives F1 = 1."""
    grid = [-1.0, -0.5, -0.35, -0.2, 0.0, 0.5]
    model = LinearSVMOneVsRest(threshold_grid=grid).fit(data["X_train"], data["Y_train"])
    scores = model.decision_function(data["X_val"])
    y_val = (scores >= -0.35).astype(np.uint8)
    assert ((scores >= -0.35) & (scores < -0.2)).any()  # -0.2 would miss positives
    assert ((scores >= -0.5) & (scores < -0.35)).any()  # -0.5 would add false positives
    model.shift_threshold(data["X_val"], y_val)
    assert model.threshold_ == brute_force_grid(y_val, scores, grid)[0] == -0.35
    assert model.validation_micro_f1_ == 1.0


def test_balanced_svm_weights_each_binary_problem(data) -> None:
    plain = build_linear_baseline("svm_ovr")
    balanced = build_linear_baseline("svm_ovr_balanced")
    assert plain.get_params()["class_weight"] is None
    assert clone(balanced).get_params()["class_weight"] == "balanced"
    balanced.fit(data["X_train"], data["Y_train"])
    assert all(svm.class_weight == "balanced" for svm in balanced.classifier_.estimators_)


# ----------------------------------------------------------------------------------------------
# sparse inputs, constant labels, formats, registry
# ----------------------------------------------------------------------------------------------


def test_feature_matrices_never_densified(data, monkeypatch) -> None:
    """toarray/todense of a feature-wide matrix (several rows) raises during the whole run.

    (One-row matrices pass: one-vs-rest densifies each transposed label column, 1 × docs.)
    """

    def guarded(method):
        def wrapper(self, *args, **kwargs):
            if self.shape[0] > 1 and self.shape[1] >= N_FEATURES:
                raise AssertionError(f"densified a {self.shape} sparse matrix")
            return method(self, *args, **kwargs)

        return wrapper

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.lil_matrix, sp.csr_array):
        for attr in ("toarray", "todense"):
            monkeypatch.setattr(cls, attr, guarded(getattr(cls, attr)))
    with pytest.raises(AssertionError, match="densified"):  # the guard works
        data["X_train"].toarray()
    tokens = [[f"w{j}" for j in range(i, i + 90)] for i in range(5)]
    _, (X_tokens,) = tfidf_features(tokens)
    assert isinstance(X_tokens, sp.csr_matrix) and X_tokens.shape[1] >= N_FEATURES
    for name in LINEAR_BASELINES:
        model = fit_linear_baseline(
            name, data["X_train"], data["Y_train"], data["X_val"], data["Y_val"]
        )
        assert isinstance(model.predict(data["X_test"]), sp.csr_matrix)
        assert model.label_scores(data["X_test"]).shape == (60, N_LABELS)


def constant_label_cases(data) -> list[sp.csr_matrix]:
    n = data["Y_train"].shape[0]
    never, always = sp.csr_matrix((n, 1)), sp.csr_matrix(np.ones((n, 1)))
    many = sp.hstack([data["Y_train"], never, always]).tocsr()  # labels 6 never, 7 always
    one = sp.hstack([data["Y_train"][:, :1]] + [never] * 5 + [never, always]).tocsr()
    return [many, one]  # `one`: a single non-constant label


@pytest.mark.parametrize("name", sorted(LINEAR_BASELINES))
def test_constant_training_labels(data, name: str) -> None:
    for Y in constant_label_cases(data):
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*present in all training examples")
            model = build_linear_baseline(name).fit(data["X_train"], Y)
        scores = model.label_scores(data["X_test"])
        pred = dense(model.predict(data["X_test"]))
        assert not pred[:, 6].any() and pred[:, 7].all()
        assert np.array_equal(scores[:, 6], scores.min(axis=1))  # lowest in every row
        assert np.array_equal(scores[:, 7], scores.max(axis=1))
        assert (scores[:, 6] < scores[:, 0]).all()
    if name.startswith("svm"):  # even a -inf threshold never predicts the unseen label
        model = build_linear_baseline(name, threshold_grid=[-np.inf]).fit(data["X_train"], Y)
        model.shift_threshold(data["X_val"], np.zeros((40, 8)) + np.eye(8)[:1])
        assert model.threshold_ == -np.inf
        assert not dense(model.predict(data["X_test"]))[:, 6].any()


def test_prediction_format_follows_training_labels(data) -> None:
    X, Y = data["X_train"], data["Y_train"]
    sparse_pred = BinaryRelevance().fit(X, Y).predict(data["X_test"])
    dense_pred = BinaryRelevance().fit(X, Y.toarray()).predict(data["X_test"])
    assert isinstance(sparse_pred, sp.csr_matrix) and isinstance(dense_pred, np.ndarray)
    assert np.array_equal(sparse_pred.toarray(), dense_pred)


def test_label_matrix_validation(data) -> None:
    X, Y = data["X_train"], data["Y_train"].toarray()
    bad = Y.copy()
    bad[0, 0] = 2
    with pytest.raises(ValueError, match="0/1"):
        BinaryRelevance().fit(X, bad)
    with pytest.raises(ValueError, match="same number of documents"):
        BinaryRelevance().fit(X, Y[:-1])
    with pytest.raises(ValueError, match="2-D"):
        BinaryRelevance().fit(X, Y[:, 0])
    model = LinearSVMOneVsRest().fit(X, Y)
    with pytest.raises(ValueError, match="Y_val must have shape"):
        model.shift_threshold(data["X_val"], data["Y_val"][:, :2])
    with pytest.raises(ValueError, match="X_val and Y_val"):
        LinearSVMOneVsRest().fit(X, Y, X_val=data["X_val"])


def test_registry_names_and_errors() -> None:
    assert list(LINEAR_BASELINES) == ["br", "cc", "lp", "svm_ovr", "svm_ovr_balanced"]
    with pytest.raises(ValueError, match="br, cc, lp, svm_ovr, svm_ovr_balanced"):
        build_linear_baseline("mlknn")
    with pytest.raises(ValueError, match="threshold_grid"):
        build_linear_baseline("br", threshold_grid=[0.0])
    model = build_linear_baseline("lp", C=3.0, random_state=7)
    assert isinstance(model, LabelPowerset)
    assert model.get_params()["C"] == 3.0 and model.get_params()["random_state"] == 7


def test_fit_linear_baseline_uses_validation_only_for_svm(data) -> None:
    args = (data["X_train"], data["Y_train"], data["X_val"], data["Y_val"])
    assert fit_linear_baseline("br", *args).threshold_ == 0.5
    svm = fit_linear_baseline("svm_ovr", *args)
    assert svm.validation_micro_f1_ is not None


# ----------------------------------------------------------------------------------------------
# Persistence without pickle (skops)
# ----------------------------------------------------------------------------------------------

SCORE_TOLERANCE = 1e-12  # the same coefficients on the same features: equal up to rounding


@pytest.fixture(scope="module")
def reuters_tfidf(reuters_mirror) -> dict:
    """Real TF-IDF features: Reuters-21578 documents (300 train, 100 validation, 150 test)
    through the English tokenizer, labelled with the 6 most frequent training topics."""
    corpus = read_reuters21578(reuters_mirror)
    train, test = corpus[corpus["split"] == "train"], corpus[corpus["split"] == "test"]
    parts = {"train": train[:300], "valid": train[300:400], "test": test[:150]}
    counts = Counter(label for labels in parts["train"]["labels"] for label in labels)
    label_index = [label for label, _ in counts.most_common(N_LABELS)]
    tokens = {k: tokenize_texts(v["text"].tolist(), "english") for k, v in parts.items()}
    vectorizer, matrices = tfidf_features(tokens["train"], tokens["valid"], tokens["test"])
    kept = {
        k: [[x for x in v if x in label_index] for v in part["labels"]] for k, part in parts.items()
    }
    labels = {k: to_label_matrix(v, label_index) for k, v in kept.items()}
    return {"vectorizer": vectorizer, "tokens": tokens, "labels": labels,
            **dict(zip(("train", "valid", "test"), matrices, strict=True))}  # fmt: skip


@pytest.mark.parametrize("name", list(LINEAR_BASELINES))
def test_baseline_round_trips_without_pickle(reuters_tfidf, name, tmp_path) -> None:
    """Every baseline kind, fitted on real TF-IDF features, written with ``dump_baseline`` and
    read back with ``load_baseline``: the same vectoriser output, scores, decisions and
    threshold."""
    d = reuters_tfidf
    model = fit_linear_baseline(
        name, d["train"], d["labels"]["train"], d["valid"], d["labels"]["valid"]
    )
    path = tmp_path / "model.skops"
    path.write_bytes(dump_baseline(d["vectorizer"], model))
    assert not path.read_bytes().startswith(b"\x80")  # a zip, not a pickle
    loaded = load_baseline(path)
    assert type(loaded.model) is type(model)
    X = sp.csr_matrix(loaded.vectorizer.transform(d["tokens"]["test"]), dtype=np.float32)
    assert X.shape == d["test"].shape and abs(X - d["test"]).max() <= 1e-7  # float32 features
    expected = model.label_scores(d["test"])
    assert np.isfinite(expected[:, model.active_labels_]).all() and expected.std() > 0
    np.testing.assert_allclose(
        loaded.model.label_scores(d["test"]), expected, rtol=0, atol=SCORE_TOLERANCE
    )
    assert (dense(loaded.model.predict(d["test"])) == dense(model.predict(d["test"]))).all()
    assert loaded.model.threshold_ == model.threshold_


def test_load_baseline_refuses_other_objects(tmp_path) -> None:
    import skops.io as sio

    path = tmp_path / "model.skops"
    for stored, message in [
        ([1, 2], "expected {'vectorizer', 'model'}, got list"),
        ({"vectorizer": None, "model": LogisticRegression()}, "'vectorizer' is a NoneType"),
    ]:
        path.write_bytes(sio.dumps(stored))
        with pytest.raises(ValueError, match=f"{path}: {message}"):
            load_baseline(path)
    with pytest.raises(TypeError, match="registered linear baseline"):
        dump_baseline(tfidf_features([["a"]])[0], LogisticRegression())


# ----------------------------------------------------------------------------------------------
# Label powerset: size, time estimate and progress bar (issue 21, item 6)
# ----------------------------------------------------------------------------------------------


def test_solver_memory_estimate_by_hand() -> None:
    memory = solver_memory_estimate(n_docs=1000, n_classes=50, n_features=99, itemsize=4)
    assert memory.per_sample == 2 * 1000 * 50 * 4  # raw predictions + gradients, float32
    assert memory.history == 2 * 10 * 50 * 100 * 8  # 10 L-BFGS pairs of float64 weights
    assert memory.total == 400_000 + 800_000
    assert [format_bytes(n) for n in (512, 1536, 3 * 2**20, 3.25 * 2**30)] == [
        "512 B",
        "1.5 KiB",
        "3.0 MiB",
        "3.2 GiB",
    ]


def test_label_powerset_logs_its_size_and_estimate_and_draws_a_bar(data, capsys, caplog) -> None:
    n_sets = len(set(rows_as_sets(data["Y_train"])))
    n_docs, n_features = data["X_train"].shape
    with caplog.at_level(logging.INFO, logger="longtail_mltc.linear"):
        model = LabelPowerset(C=10.0).fit(data["X_train"], data["Y_train"])
    messages = [r.getMessage() for r in caplog.records]
    memory = format_bytes(2 * n_docs * n_sets * 4 + 2 * 10 * n_sets * (n_features + 1) * 8)
    assert messages[0].startswith(
        f"label powerset: {n_sets} label sets (classes) over {n_docs} documents × {n_features} "
        f"features; solver memory ≈ {memory} ("
    ), messages[0]
    assert re.fullmatch(
        rf"label powerset \({n_sets} sets\): \d+\.\d\d s per iteration after 3; at most 1000 "
        r"iterations ≈ .+ \(stops earlier when converged\)",
        messages[1],
    ), messages[1]
    n_iter = int(model.classifier_.n_iter_[0])
    assert messages[2].startswith(f"label powerset ({n_sets} sets): {n_iter} iterations in ")
    bar = capsys.readouterr().err
    assert f"label powerset ({n_sets} sets):" in bar and f"{n_iter}/1000" in bar, bar
    assert not hasattr(model.classifier_, "_skl_callbacks")  # nothing of the bar is stored


def test_label_powerset_without_progress_draws_nothing(data, capsys) -> None:
    with_bar = LabelPowerset(C=10.0).fit(data["X_train"], data["Y_train"])
    capsys.readouterr()
    quiet = LabelPowerset(C=10.0, progress=False).fit(data["X_train"], data["Y_train"])
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(  # the callback does not change the fit
        quiet.classifier_.coef_, with_bar.classifier_.coef_
    )
