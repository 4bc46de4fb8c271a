"""Per-loss training recipes: the output-bias start and training overrides that suit each loss.

:data:`DEFAULT_RECIPES` gives ``prior`` (each label's bias at its training log-odds) for
``bce`` and ``wce``, and ``zero`` with ``weight_decay: 0`` for the focal / CB / R-FL / NTR-FL /
DB family. A model configured with ``output_bias: auto`` follows its loss's recipe (start and
overrides); an explicit ``prior``, ``zero`` or ``fitted`` (:mod:`longtail_mltc.losses.bias_start`)
opts out of it.

Why each loss gets its recipe, with the Reuters measurements (METHODS §3 "Output bias"):
docs/losses.md#loss-aware-recipes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import LOSSES

__all__ = [
    "DEFAULT_RECIPES",
    "OUTPUT_BIAS_STARTS",
    "LossRecipe",
    "follows_recipe",
    "loss_recipe",
    "resolve_output_bias",
]

OUTPUT_BIAS_STARTS: tuple[str, ...] = ("prior", "zero", "fitted")
"""``prior``: each label's bias at its training log-odds; ``zero``: every bias 0; ``fitted``:
the loss's own minimiser for a constant logit (:mod:`longtail_mltc.losses.bias_start`)."""


@dataclass(frozen=True)
class LossRecipe:
    """How to train with one loss: the output-bias start and ``training`` overrides."""

    output_bias: str = "zero"
    training: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.output_bias not in OUTPUT_BIAS_STARTS:
            raise ValueError(
                f"output_bias must be one of {OUTPUT_BIAS_STARTS}, got {self.output_bias!r}"
            )
        if not isinstance(self.training, Mapping):
            raise ValueError(
                f"a recipe's training overrides must be a mapping, got {self.training!r}"
            )

    def training_config(self, training: Mapping[str, Any]) -> dict[str, Any]:
        """``training`` with this recipe's overrides applied."""
        return {**training, **self.training}


PRIOR_START_LOSSES: tuple[str, ...] = ("bce", "wce")
DEFAULT_RECIPES: dict[str, LossRecipe] = {
    name: LossRecipe("prior")
    if name in PRIOR_START_LOSSES
    else LossRecipe("zero", {"weight_decay": 0.0})
    for name in LOSSES
}


def loss_recipe(loss: str, recipes: Mapping[str, Mapping[str, Any]] | None = None) -> LossRecipe:
    """The recipe of ``loss``: :data:`DEFAULT_RECIPES` updated by ``recipes[loss]`` (config)."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; valid: {sorted(LOSSES)}")
    default = DEFAULT_RECIPES[loss]
    given = dict((recipes or {}).get(loss) or {})
    unknown = sorted(set(given) - {"output_bias", "training"})
    if unknown:
        raise ValueError(
            f"loss_recipes.{loss} has unknown key(s) {unknown}; valid: output_bias, training"
        )
    return LossRecipe(
        output_bias=given.get("output_bias", default.output_bias),
        training=dict(given.get("training") or default.training),
    )


def follows_recipe(model_setting: str | None) -> bool:
    """Whether a model configured with ``output_bias=model_setting`` takes its loss's recipe
    (``auto`` or unset) or opts out of it (an explicit ``prior`` / ``zero``)."""
    return model_setting is None or str(model_setting) == "auto"


def resolve_output_bias(model_setting: str | None, recipe: LossRecipe) -> str:
    """The output-bias start to use: the model's explicit ``prior`` / ``zero``, or the recipe's
    for ``auto`` (and ``None``)."""
    if follows_recipe(model_setting):
        return recipe.output_bias
    setting = str(model_setting)
    if setting not in OUTPUT_BIAS_STARTS:
        raise ValueError(
            f"output_bias must be 'auto' or one of {OUTPUT_BIAS_STARTS}, got {model_setting!r}"
        )
    return setting
