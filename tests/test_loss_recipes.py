"""Per-loss recipes: the output-bias start each loss gets (METHODS §3 "Output bias")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from longtail_mltc.labels import LabelStatistics
from longtail_mltc.losses import LOSSES
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
