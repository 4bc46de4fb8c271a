"""Tests for longtail_mltc.evaluation.thresholds (METHODS §3.1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from longtail_mltc.evaluation import metrics
from longtail_mltc.evaluation.metrics import evaluate
from longtail_mltc.evaluation.thresholds import search_global_threshold


def brute_force(y: np.ndarray, s: np.ndarray, candidates: np.ndarray) -> tuple[float, float]:
    """Loop over candidates with sklearn's micro-F1; largest threshold among the best."""
    best_t, best_f1 = None, -1.0
    for t in sorted(set(candidates.tolist())):
        f1 = f1_score(y.ravel(), (s.ravel() >= t).astype(int), zero_division=0)
        if f1 >= best_f1 - 1e-12:
            best_t, best_f1 = t, max(f1, best_f1)
    return best_t, best_f1


@st.composite
def problems(draw):
    n_docs = draw(st.integers(1, 10))
    n_labels = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = (rng.random((n_docs, n_labels)) < draw(st.sampled_from([0.1, 0.4, 0.9]))).astype(int)
    if not y.any():
        y[rng.integers(n_docs), rng.integers(n_labels)] = 1
    levels = draw(st.sampled_from([4, 1000]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    s = (rng.integers(0, levels, size=y.shape) / (levels - 1) * 2 - 0.5).astype(dtype)
    return y, s


def test_hand_computed_example() -> None:
    y = np.array([[1, 0], [0, 1]])
    s = np.array([[0.9, 0.8], [0.3, 0.4]])
    # P = 2 positives. F1 = 2tp / (2tp + fp + fn) per candidate (predict s >= t):
    #   t = .9: tp 1, fp 0, fn 1 -> 2/3     t = .8: tp 1, fp 1, fn 1 -> 1/2
    #   t = .4: tp 2, fp 1, fn 0 -> 4/5     t = .3: tp 2, fp 2, fn 0 -> 2/3
    assert search_global_threshold(y, s) == (0.4, pytest.approx(0.8))
    # grid: .35 and .4 both give 4/5 -> the larger, .4; .5 .. .8 give 1/2
    t, f1 = search_global_threshold(y, s, candidates=[0.2, 0.35, 0.4, 0.5, 0.8])
    assert (t, f1) == (0.4, pytest.approx(0.8))


@settings(max_examples=50, deadline=None)
@given(problems())
def test_exact_search_matches_brute_force_and_evaluate(problem) -> None:
    y, s = problem
    t, f1 = search_global_threshold(y, s)
    assert t in set(s.ravel().tolist())  # an actual score value
    assert evaluate(y, s, threshold=t)["micro_f1"] == f1  # exactly
    ref_t, ref_f1 = brute_force(y, s, s.ravel())
    assert f1 == pytest.approx(ref_f1, abs=1e-12)
    assert t == ref_t
    assert search_global_threshold(sp.csr_matrix(y), s) == (t, f1)


@settings(max_examples=50, deadline=None)
@given(problems(), st.lists(st.floats(-1.0, 2.0), min_size=1, max_size=20))
def test_candidate_grid_matches_brute_force(problem, grid) -> None:
    y, s = problem
    t, f1 = search_global_threshold(sp.csr_array(y), s, candidates=grid)
    assert t in grid
    assert evaluate(y, s, threshold=t)["micro_f1"] == f1
    ref_t, ref_f1 = brute_force(y, s.astype(np.float64), np.asarray(grid))
    assert f1 == pytest.approx(ref_f1, abs=1e-12)
    assert t == ref_t
    # the exact search can only do as well or better than any grid
    assert search_global_threshold(y, s)[1] >= f1


def test_float64_candidate_against_float32_scores_is_exact() -> None:
    s = np.array([[0.3, 0.1]], dtype=np.float32)
    y = np.array([[1, 0]])
    just_above = np.nextafter(float(s[0, 0]), 1.0)  # rounds to s[0, 0] in float32
    # only candidate: nothing predicted (0.3f < just_above), F1 = 0
    t, f1 = search_global_threshold(y, s, candidates=[just_above])
    assert (t, f1) == (just_above, 0.0)
    assert evaluate(y, s, threshold=t)["micro_f1"] == 0.0


def test_no_positives_returns_default() -> None:
    assert search_global_threshold(np.zeros((3, 2)), np.random.default_rng(0).random((3, 2))) == (
        0.5,
        0.0,
    )
    assert search_global_threshold(sp.csr_matrix((3, 2)), np.ones((3, 2))) == (0.5, 0.0)


@pytest.mark.parametrize(
    ("y", "s", "kwargs", "message"),
    [
        (np.eye(2), np.ones((2, 3)), {}, r"same shape .* \(2, 2\) and scores \(2, 3\)"),
        (np.eye(2), np.array([[0.1, np.nan], [0.2, 0.3]]), {}, r"NaN"),
        (np.eye(2) * 3, np.ones((2, 2)), {}, r"0/1"),
        (np.eye(2), np.ones((2, 2)), {"candidates": []}, r"non-empty"),
        (np.eye(2), np.ones((2, 2)), {"candidates": [0.1, np.nan]}, r"NaN"),
        (np.zeros((0, 2)), np.zeros((0, 2)), {}, r"at least one document"),
    ],
)
def test_errors(y, s, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        search_global_threshold(y, s, **kwargs)


@settings(max_examples=20, deadline=None)
@given(problems())
def test_row_chunking_does_not_change_the_result(problem) -> None:
    y, s = problem
    expected = search_global_threshold(y, s)
    expected_grid = search_global_threshold(y, s, candidates=[0.0, 0.3, 0.7])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "MAX_CHUNK_ELEMENTS", 3)  # one row (at most 3 cells) per chunk
        assert search_global_threshold(sp.csr_matrix(y), s) == expected
        assert search_global_threshold(y, s) == expected
        assert search_global_threshold(y, s, candidates=[0.0, 0.3, 0.7]) == expected_grid


def test_threshold_grid_from_configuration():
    from longtail_mltc.evaluation.thresholds import threshold_grid

    assert threshold_grid(None) is None
    grid = threshold_grid({"start": 0.05, "stop": 0.95, "step": 0.05})
    assert grid.size == 19 and grid[0] == 0.05 and grid[-1] == 0.95
    assert 0.3 in grid.tolist()  # rounded: not 0.30000000000000004
    np.testing.assert_array_equal(threshold_grid([0.2, 0.7]), [0.2, 0.7])
    with pytest.raises(ValueError, match="missing \\['step'\\]"):
        threshold_grid({"start": 0.1, "stop": 0.9})
    with pytest.raises(ValueError, match="step > 0"):
        threshold_grid({"start": 0.5, "stop": 0.1, "step": 0.1})


def test_configured_grid_picks_its_best_point_on_a_constructed_case():
    """Scores of 4 positive and 4 negative cells; on the grid {0.1, 0.3, 0.5, 0.7, 0.9}:
    t = 0.1: 8 predicted, 4 TP → F1 = 8/12; t = 0.3: 6 predicted, 4 TP → 8/10;
    t = 0.5: 4 predicted, 3 TP → 6/8; t = 0.7: 2 predicted, 2 TP → 4/6; t = 0.9: 0 → 0.
    The best is 0.3 with F1 0.8."""
    from longtail_mltc.evaluation.thresholds import threshold_grid

    y = np.array([[1, 0, 1, 0], [0, 1, 1, 0]])
    s = np.array([[0.8, 0.2, 0.35, 0.6], [0.4, 0.75, 0.55, 0.15]])
    grid = threshold_grid({"start": 0.1, "stop": 0.9, "step": 0.2})
    t, f1 = search_global_threshold(y, s, candidates=grid)
    assert t == pytest.approx(0.3) and f1 == pytest.approx(0.8)
