"""Triplet and pair samplers, support sets (METHODS §1.5, §1.7, §1.9).

Every property is checked against the dense 0/1 matrix directly (``Y[doc, label]``), never
through the sampler's own index.
"""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longtail_mltc.sampling import (
    Pairs,
    Triplets,
    label_docs,
    sample_pairs,
    sample_triplets,
    support_indices,
)
from longtail_mltc.sampling.draw import MAX_ROUNDS, draw_pairs
from longtail_mltc.sampling.pairs import disjoint_pair_ok, pair_budget
from longtail_mltc.sampling.triplets import dissimilar_triplet_ok, triplet_budget

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FORMATS = {
    "dense": lambda y: y,
    "bool": lambda y: y.astype(bool),
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
    "csr_array": sp.csr_array,
}


def make_matrix(
    n_present: int, n_empty: int, n_extra: int, density: float, seed: int
) -> np.ndarray:
    """Random 0/1 matrix where every pair of present labels can form a dissimilar pair.

    Each present label has a private document (carrying only it); one document carries the
    first two present labels (so some label has two documents); ``n_empty`` label columns are
    empty; one document has no label. Rows and columns are shuffled.
    """
    rng = np.random.default_rng(seed)
    random_docs = (rng.random((n_extra, n_present)) < density).astype(np.uint8)
    pair_doc = np.zeros((1, n_present), np.uint8)
    pair_doc[0, :2] = 1
    no_label = np.zeros((1, n_present), np.uint8)
    present = np.vstack([np.eye(n_present, dtype=np.uint8), pair_doc, random_docs, no_label])
    y = np.hstack([present, np.zeros((present.shape[0], n_empty), np.uint8)])
    return y[rng.permutation(y.shape[0])][:, rng.permutation(y.shape[1])]


matrices = st.builds(
    make_matrix,
    n_present=st.integers(2, 8),
    n_empty=st.integers(0, 3),
    n_extra=st.integers(0, 25),
    density=st.floats(0.0, 0.6),
    seed=st.integers(0, 2**32 - 1),
)


def drawable(y: np.ndarray) -> np.ndarray:
    return np.flatnonzero(y.sum(axis=0) > 0)


def check_triplets(y: np.ndarray, trip: Triplets, n: int, t: int) -> None:
    """Every §1.5 property of a triplet set, against the dense matrix ``y``."""
    n_dissimilar = (n - n // 3) // 2
    assert len(trip) == n
    assert int(trip.target.sum()) == n - 2 * n_dissimilar
    assert abs((n - 2 * n_dissimilar) - n_dissimilar) <= 1
    picks = np.bincount(trip.label, minlength=y.shape[1])
    assert (picks[drawable(y)] >= t).all()
    assert (picks[y.sum(axis=0) == 0] == 0).all()
    assert (y[trip.second, trip.label] == 1).all()
    similar = trip.target == 1
    assert (y[trip.first[similar], trip.label[similar]] == 1).all()
    assert (trip.first[similar] != trip.second[similar]).all()
    assert (y[trip.first[~similar], trip.label[~similar]] == 0).all()
    dissimilar = list(
        zip(trip.first[~similar].tolist(), trip.second[~similar].tolist(), strict=True)
    )
    assert Counter(dissimilar) == Counter((b, a) for a, b in dissimilar)
    singles = np.flatnonzero(y.sum(axis=0) == 1)
    assert not np.isin(trip.label[similar], singles).any()


# ---- triplets: properties -----------------------------------------------------------------------


@FAST
@given(
    y=matrices,
    t=st.integers(0, 4),
    extra=st.integers(0, 40),
    seed=st.integers(0, 2**16),
    fmt=st.sampled_from(sorted(FORMATS)),
)
def test_triplet_properties_random(y, t, extra, seed, fmt):
    n = max(3, 3 * t * drawable(y).size + extra)
    trip = sample_triplets(FORMATS[fmt](y), n, min_per_label=t, seed=seed)
    check_triplets(y, trip, n, t)


@FAST
@given(y=matrices, seed=st.integers(0, 2**16))
def test_tight_budget_gives_each_label_exactly_t_picks(y, seed):
    """n_triplets = T × drawable labels: the guarantee leaves no random picks at all."""
    y = y[:, drawable(y)]  # no empty columns
    n_labels = y.shape[1]
    # a second private document per label (no single-document labels: they would need all T
    # picks in the dissimilar part) and a document with all labels but the last
    almost_all = np.ones((1, n_labels), np.uint8)
    almost_all[0, -1] = 0
    y = np.vstack([y, np.eye(n_labels, dtype=np.uint8), almost_all])
    t = 6
    n = t * n_labels
    trip = sample_triplets(y, n, min_per_label=t, seed=seed)
    check_triplets(y, trip, n, t)
    assert (np.bincount(trip.label, minlength=n_labels) == t).all()


@pytest.mark.parametrize("seed", [3, 32, 119])
def test_tight_budget_repairs_pairs_whose_partners_hold_unsuitable_documents(seed):
    """Found by hypothesis in CI: 3 labels × 4 dissimilar picks force the pairing (0,1)×2,
    (0,2)×2, (1,2)×2. Seeds 3, 32 and 119 reach a (1,1) pair whose only repair partners are
    (0,2) pairs holding documents that carry label 1; the repair must draw new documents
    rather than keep those (it used to give up after MAX_ROUNDS rounds)."""
    y = np.array(
        [[0, 1, 0], [1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 1, 1], [0, 1, 0], [0, 1, 0],
         [0, 1, 1], [1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 0, 0],
         [0, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]],
        dtype=np.uint8,
    )  # fmt: skip
    trip = sample_triplets(y, 18, min_per_label=6, seed=seed)
    check_triplets(y, trip, 18, 6)
    assert (np.bincount(trip.label, minlength=3) == 6).all()


def test_one_pick_per_triplet_matches_the_drawn_picks():
    y = make_matrix(6, 2, 20, 0.3, seed=3)
    budget = triplet_budget(301)
    drawn = draw_pairs(
        label_docs(y),
        budget,
        min_per_label=10,
        rng=np.random.default_rng(5),
        rule=dissimilar_triplet_ok,
    )
    trip = sample_triplets(y, 301, seed=5)
    assert sorted(drawn.picks().tolist()) == sorted(trip.label.tolist())
    assert drawn.similar_label.size == budget.n_similar == 101
    assert drawn.first_label.size == budget.n_dissimilar == 100


@pytest.mark.parametrize(
    ("n", "similar", "dissimilar"), [(3, 1, 2), (4, 2, 2), (5, 1, 4), (300_000, 100_000, 200_000)]
)
def test_rounding_keeps_the_requested_total(n, similar, dissimilar):
    budget = triplet_budget(n)
    assert budget.n_similar == similar
    assert 2 * budget.n_dissimilar == dissimilar
    assert budget.picks == n


def test_hand_made_case():
    # labels: 0 = {0, 1, 2}, 1 = {2, 3}, 2 = {4} (single document), 3 = {} (empty)
    y = np.zeros((6, 4), np.uint8)
    y[[0, 1, 2], 0] = 1
    y[[2, 3], 1] = 1
    y[4, 2] = 1
    trip = sample_triplets(y, 90, min_per_label=10, seed=0)
    check_triplets(y, trip, 90, 10)
    assert 5 not in trip.first and 5 not in trip.second  # the document without labels
    single = trip.label == 2
    assert single.sum() >= 10
    assert (trip.target[single] == 0).all() and (trip.second[single] == 4).all()


def test_label_carried_by_every_document_only_in_similar_triplets():
    y = np.zeros((7, 4), np.uint8)
    y[:6, 0] = 1  # label 0 on every labelled document (document 6 has none)
    y[[0, 1], 1] = y[[2, 3], 2] = y[[4, 5], 3] = 1
    trip = sample_triplets(y, 120, min_per_label=10, seed=0)
    check_triplets(y, trip, 120, 10)
    assert (trip.target[trip.label == 0] == 1).all() and (trip.label == 0).sum() >= 10


def test_triplets_are_shuffled():
    y = make_matrix(5, 0, 30, 0.3, seed=1)
    trip = sample_triplets(y, 3000, min_per_label=10, seed=0)
    head = trip.target[:1000]
    assert 0.2 < head.mean() < 0.45  # similar triplets are not all first
    assert not np.array_equal(trip.label, np.sort(trip.label))


# ---- triplets: reproducibility, inputs, frames -------------------------------------------------


def test_same_seed_same_triplets_different_seed_differs():
    y = sp.csr_matrix(make_matrix(8, 1, 40, 0.2, seed=2))
    a = sample_triplets(y, 600, seed=11)
    b = sample_triplets(y, 600, seed=11)
    c = sample_triplets(y, 600, seed=12)
    for name in Triplets.COLUMNS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not all(np.array_equal(getattr(a, f), getattr(c, f)) for f in Triplets.COLUMNS)


def test_input_formats_give_identical_triplets():
    y = make_matrix(6, 2, 30, 0.25, seed=4)
    reference = sample_triplets(y, 300, seed=1).to_frame()
    for fmt, convert in FORMATS.items():
        frame = sample_triplets(convert(y), 300, seed=1).to_frame()
        pd.testing.assert_frame_equal(frame, reference, obj=fmt)
    docs = label_docs(y)
    pd.testing.assert_frame_equal(sample_triplets(docs, 300, seed=1).to_frame(), reference)


def test_triplet_frame_round_trip(tmp_path):
    trip = sample_triplets(make_matrix(4, 0, 10, 0.3, seed=0), 60, seed=0)
    frame = trip.to_frame()
    assert list(frame.columns) == ["first", "second", "label", "target"]
    assert [str(d) for d in frame.dtypes] == ["int64", "int64", "int64", "float32"]
    frame.to_parquet(tmp_path / "triplets.parquet")
    back = Triplets.from_frame(pd.read_parquet(tmp_path / "triplets.parquet"))
    for name in Triplets.COLUMNS:
        np.testing.assert_array_equal(getattr(back, name), getattr(trip, name))
        assert getattr(back, name).dtype == Triplets.COLUMNS[name]
    with pytest.raises(ValueError, match=r"lacks columns \['label'\]"):
        Triplets.from_frame(frame.drop(columns="label"))


def test_triplets_validate_and_are_read_only():
    trip = Triplets(first=[0, 1], second=[1, 0], label=[2, 3], target=[1, 0])
    assert trip.target.dtype == np.float32 and trip.first.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        trip.first[0] = 5
    with pytest.raises(ValueError, match="different lengths"):
        Triplets(first=[0, 1], second=[1], label=[2, 3], target=[1, 0])
    with pytest.raises(ValueError, match="only 0 and 1"):
        Triplets(first=[0], second=[1], label=[2], target=[0.5])
    with pytest.raises(ValueError, match="integers"):
        Triplets(first=[0.5], second=[1], label=[2], target=[1])


def test_empty_labels_are_logged(caplog):
    y = make_matrix(4, 2, 10, 0.3, seed=0)
    with caplog.at_level(logging.WARNING, logger="longtail_mltc.sampling"):
        sample_triplets(y, 60, seed=0)
    assert "2 of 6 labels have no document in this split" in caplog.text


# ---- triplets: errors --------------------------------------------------------------------------


def test_error_n_triplets_too_small():
    with pytest.raises(ValueError, match="n_triplets must be ≥ 3"):
        sample_triplets(make_matrix(3, 0, 5, 0.3, 0), 2, seed=0)


def test_error_budget_too_small_says_what_is_needed():
    y = make_matrix(5, 3, 10, 0.3, seed=0)  # 5 drawable labels, 3 empty ones (not counted)
    message = (
        r"min_per_label=10 × 5 drawable labels = 50 label picks, but n_triplets=49 gives 49 .* "
        r"raise n_triplets to at least 50 or lower min_per_label to at most 9"
    )
    with pytest.raises(ValueError, match=message):
        sample_triplets(y, 49, seed=0)
    sample_triplets(y, 50, seed=0)  # exactly enough


def test_error_too_many_single_document_labels():
    y = np.vstack([np.eye(8, dtype=np.uint8), [[1, 1, 0, 0, 0, 0, 0, 0]]])  # 6 single-doc
    with pytest.raises(ValueError, match="6 single-document labels × min_per_label=10 need 60"):
        sample_triplets(y, 80, seed=0)  # 80 picks ≥ 8 × 10, but only 2 × 27 dissimilar picks
    check_triplets(y, sample_triplets(y, 90, seed=0), 90, 10)  # 2 × 30 dissimilar picks


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.zeros((4, 3)), "at least two documents with a label"),
        (np.eye(3), "no label has two documents"),
        (np.ones((4, 1)), "dissimilar pairs need two labels"),
        (np.array([[1, 1], [1, 1], [0, 1]]), "dissimilar pairs need two labels"),
        (np.array([[1, 2], [0, 1]]), "only 0 and 1"),
        (np.array([[1, np.nan], [0, 1]]), "only 0 and 1"),
        (np.ones(4), "2-D"),
    ],
)
def test_error_impossible_matrices(y, message):
    with pytest.raises(ValueError, match=message):
        sample_triplets(y, 30, min_per_label=1, seed=0)


def test_error_when_no_valid_dissimilar_pair_exists():
    # label 2's only document also carries labels 0 and 1: it can never be in a dissimilar pair
    y = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0]], np.uint8)
    with pytest.raises(ValueError, match=f"after {MAX_ROUNDS} resampling rounds.*\\[.*2.*\\]"):
        sample_triplets(y, 30, min_per_label=1, seed=0)


def test_error_negative_min_per_label():
    with pytest.raises(ValueError, match="min_per_label must be ≥ 0"):
        sample_triplets(make_matrix(3, 0, 5, 0.3, 0), 30, min_per_label=-1, seed=0)


# ---- plain pairs --------------------------------------------------------------------------------


def check_pairs(y: np.ndarray, pairs: Pairs, n: int) -> None:
    assert len(pairs) == n
    assert int(pairs.target.sum()) == n - n // 2
    shared = (y[pairs.first].astype(int) * y[pairs.second]).sum(axis=1)
    similar = pairs.target == 1
    assert (shared[similar] >= 1).all()
    assert (pairs.first[similar] != pairs.second[similar]).all()
    assert (shared[~similar] == 0).all()


@FAST
@given(y=matrices, t=st.integers(0, 3), extra=st.integers(0, 30), seed=st.integers(0, 2**16))
def test_pair_properties_random(y, t, extra, seed):
    n = max(2, 2 * t * drawable(y).size + extra)
    check_pairs(y, sample_pairs(sp.csr_matrix(y), n, min_per_label=t, seed=seed), n)
    budget = pair_budget(n)
    drawn = draw_pairs(
        label_docs(y),
        budget,
        min_per_label=t,
        rng=np.random.default_rng(seed),
        rule=disjoint_pair_ok,
    )
    picks = np.bincount(drawn.picks(), minlength=y.shape[1])
    assert (picks[drawable(y)] >= t).all()
    assert drawn.picks().size == budget.picks == n + n // 2


def test_pairs_seeded_round_trip_and_errors():
    y = make_matrix(6, 1, 30, 0.2, seed=5)
    a, b = sample_pairs(y, 301, seed=3), sample_pairs(y, 301, seed=3)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not a.to_frame().equals(sample_pairs(y, 301, seed=4).to_frame())
    frame = a.to_frame()
    assert list(frame.columns) == ["first", "second", "target"]
    pd.testing.assert_frame_equal(Pairs.from_frame(frame).to_frame(), frame)
    with pytest.raises(ValueError, match="n_pairs must be ≥ 2"):
        sample_pairs(y, 1, seed=0)
    with pytest.raises(ValueError, match=r"n_pairs=30 gives 45 .* at least 40 .* at most 7"):
        sample_pairs(y, 30, seed=0)  # 6 labels × 10 = 60 picks; 40 pairs give 60
    check_pairs(y, sample_pairs(y, 40, seed=0), 40)


# ---- support sets -------------------------------------------------------------------------------


@FAST
@given(y=matrices, k=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_support_sets(y, k, seed):
    support = support_indices(sp.csc_matrix(y), k, seed=seed)
    counts = y.sum(axis=0)
    assert support.shape == (y.shape[1], k) and support.dtype == np.int64
    for label, row in enumerate(support):
        n_real = min(k, counts[label])
        real = row[:n_real]
        assert (row[n_real:] == -1).all()
        assert (real >= 0).all() and np.unique(real).size == n_real
        assert (y[real, label] == 1).all()
    np.testing.assert_array_equal(support, support_indices(y, k, seed=seed))


def test_support_sets_are_random_over_seeds_and_cover_all_documents():
    y = np.zeros((40, 2), np.uint8)
    y[:30, 0] = 1
    y[30:33, 1] = 1
    first = support_indices(y, 5, seed=0)
    assert not np.array_equal(first, support_indices(y, 5, seed=1))
    assert set(first[1, :3].tolist()) == {30, 31, 32} and (first[1, 3:] == -1).all()
    seen = np.concatenate([support_indices(y, 5, seed=s)[0] for s in range(60)])
    counts = np.bincount(seen, minlength=30)[:30]
    assert (counts > 0).all() and counts.max() < 30  # every document drawn, none always
    with pytest.raises(ValueError, match="k must be ≥ 1"):
        support_indices(y, 0, seed=0)


# ---- the per-label index ------------------------------------------------------------------------


def test_label_docs_classes_and_lookups():
    y = np.array([[1, 1, 0, 0, 1], [1, 0, 0, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]])
    docs = label_docs(sp.coo_matrix(y))
    np.testing.assert_array_equal(docs.counts, [3, 2, 1, 0, 1])
    assert docs.n_labelled_docs == 3
    assert docs.empty_labels.tolist() == [3]
    assert docs.single_doc_labels.tolist() == [2, 4]
    assert docs.universal_labels.tolist() == [0]
    assert docs.dissimilar_labels.tolist() == [1, 2, 4]
    d, c = np.meshgrid(np.arange(4), np.arange(5), indexing="ij")
    np.testing.assert_array_equal(docs.carries(d.ravel(), c.ravel()), y.ravel() == 1)
    a, b = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    expected = (y @ y.T > 0)[a.ravel(), b.ravel()]
    np.testing.assert_array_equal(docs.share_label(a.ravel(), b.ravel()), expected)
