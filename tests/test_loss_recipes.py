"""Per-loss recipes: the output-bias start each loss gets (METHODS §3 "Output bias")."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from longtail_mltc.labels import LabelStatistics
from longtail_mltc.losses import LOSSES, build_loss
from longtail_mltc.losses.bias_start import fitted_output_bias
from longtail_mltc.losses.recipes import (
    DEFAULT_RECIPES,
    LossRecipe,
    loss_recipe,
    resolve_output_bias,
)
from longtail_mltc.pipelines.single.nodes import initial_network

COUNTS = np.array([60, 12, 3, 1])
STATS = LabelStatistics(("a", "b", "c", "d"), COUNTS, 100, head_min=35, tail_max=8, n_phi=50)
SINGLE = {
    "encoder": "kim_cnn",
    "encoder_params": {
        "embedding_dim": 8,
        "kernel_sizes": [2],
        "num_filters": 4,
        "hidden_dim": 6,
        "embedding_dropout": 0.0,
        "feature_dropout": 0.0,
    },
    "output_bias": "auto",
    "training": {"batch_size": 10, "max_epochs": 3, "learning_rate": 0.002},
}


def _bias(loss: str, single=SINGLE, recipes=None) -> tuple[np.ndarray, str, dict]:
    torch.manual_seed(0)
    model, start, training = initial_network(single, 20, None, STATS, loss, recipes)
    return model.head.bias.detach().numpy(), start, training


def test_measured_default_prior_for_bce_and_wce_zero_for_the_focal_ntr_db_family():
    assert set(DEFAULT_RECIPES) == set(LOSSES)
    assert {n for n, r in DEFAULT_RECIPES.items() if r.output_bias == "prior"} == {"bce", "wce"}
    log_odds = np.log(COUNTS / (100 - COUNTS))  # the training priors' log-odds, by hand
    for loss in ("bce", "wce"):
        bias, start, _ = _bias(loss)
        assert start == "prior"
        np.testing.assert_allclose(bias, log_odds, rtol=1e-6)
    for loss in ("focal", "cb", "r_focal", "ntr_focal", "db", "db_no_focal", "cb_ntr"):
        bias, start, training = _bias(loss)
        assert start == "zero" and np.all(bias == 0.0), loss
        # no coupled L2 for the family: only weight_decay changes
        assert training == {**SINGLE["training"], "weight_decay": 0.0}, loss
    _, _, training = _bias("bce")
    assert training == SINGLE["training"]


def test_a_model_setting_wins_over_the_recipe_and_config_overrides_the_recipe():
    bias, start, training = _bias("db", {**SINGLE, "output_bias": "prior"})
    assert start == "prior" and bias[0] > 0 > bias[3]  # 60 of 100 → positive log-odds
    assert training == SINGLE["training"]  # an explicit start opts out of the whole recipe
    bias, start, _ = _bias("bce", {**SINGLE, "output_bias": "zero"})  # e.g. a transformer
    assert start == "zero" and np.all(bias == 0.0)
    recipes = {"db": {"output_bias": "prior", "training": {"learning_rate": 0.01}}}
    _, start, training = _bias("db", recipes=recipes)
    assert start == "prior"
    assert training == {**SINGLE["training"], "learning_rate": 0.01}  # only that key changes
    _, _, untouched = _bias("bce", recipes=recipes)
    assert untouched == SINGLE["training"]


def test_bad_recipes_fail_with_the_key_that_is_wrong():
    with pytest.raises(ValueError, match="unknown loss"):
        loss_recipe("dice")
    with pytest.raises(ValueError, match="unknown key"):
        loss_recipe("db", {"db": {"bias": "zero"}})
    with pytest.raises(ValueError, match="output_bias"):
        loss_recipe("db", {"db": {"output_bias": "log_odds"}})
    with pytest.raises(ValueError, match="output_bias"):
        resolve_output_bias("prior_odds", LossRecipe("zero"))
    assert resolve_output_bias(None, LossRecipe("prior")) == "prior"


# ---- the fitted start: the loss's own constant minimiser ------------------------------------


def _labels(counts: np.ndarray, n_docs: int, seed: int = 0) -> sp.csr_matrix:
    """A 0/1 matrix with exactly ``counts[c]`` positives in column c, rows shuffled."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_docs, len(counts)), dtype=np.uint8)
    for c, k in enumerate(counts):
        dense[rng.choice(n_docs, size=int(k), replace=False), c] = 1
    return sp.csr_matrix(dense)


def _focal_constant_minimiser(rate: float, gamma: float) -> float:
    """Brent's method on the focal loss of one constant logit, written out with numpy."""

    def mean_loss(b: float) -> float:
        p = 1.0 / (1.0 + np.exp(-b))
        return -(rate * (1 - p) ** gamma * np.log(p) + (1 - rate) * p**gamma * np.log(1 - p))

    return float(minimize_scalar(mean_loss, bounds=(-12, 12), method="bounded").x)


def test_fitted_start_is_the_log_odds_for_bce_and_the_focal_minimiser_for_focal():
    labels = _labels(COUNTS, 100)
    bce = build_loss("bce", label_counts=COUNTS, n_train=100)
    np.testing.assert_allclose(
        fitted_output_bias(bce, labels), np.log(COUNTS / (100 - COUNTS)), atol=2e-3
    )
    focal = build_loss("focal", label_counts=COUNTS, n_train=100, gamma=2)
    expected = [_focal_constant_minimiser(k / 100, 2.0) for k in COUNTS]
    fitted = fitted_output_bias(focal, labels)
    np.testing.assert_allclose(fitted, expected, atol=5e-3)
    # the focal term pulls every rare label's start towards zero, well above its log-odds
    assert np.all(fitted[1:] > np.log(COUNTS[1:] / (100 - COUNTS[1:])) + 1.0)


@settings(max_examples=15, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=39), min_size=2, max_size=6),
    loss=st.sampled_from(["db", "ntr_focal", "r_focal", "cb_ntr"]),
)
def test_fitted_start_is_a_stationary_point_and_chunking_does_not_change_it(counts, loss):
    counts = np.array(counts)
    labels = _labels(counts, 40)
    loss_fn = build_loss(loss, label_counts=counts, n_train=40)
    whole = fitted_output_bias(loss_fn, labels)
    chunked = fitted_output_bias(loss_fn, labels, chunk_cells=len(counts) * 7)
    np.testing.assert_allclose(chunked, whole, atol=1e-3)
    bias = torch.tensor(whole, dtype=torch.float32, requires_grad=True)
    dense = torch.as_tensor(labels.toarray(), dtype=torch.float32)
    loss_fn(bias.expand_as(dense), dense).backward()
    assert bias.grad.abs().max().item() < 1e-3  # the loss's gradient vanishes there


def test_fitted_recipe_starts_the_network_at_the_loss_minimiser():
    labels = _labels(COUNTS, 100)
    loss_fn = build_loss("db", label_counts=COUNTS, n_train=100)
    recipes = {"db": {"output_bias": "fitted"}}
    model, start, _ = initial_network(SINGLE, 20, None, STATS, "db", recipes, loss_fn, labels)
    assert start == "fitted"
    np.testing.assert_allclose(
        model.head.bias.detach().numpy(), fitted_output_bias(loss_fn, labels), atol=1e-5
    )
    with pytest.raises(ValueError, match="training labels"):
        initial_network(SINGLE, 20, None, STATS, "db", recipes)
