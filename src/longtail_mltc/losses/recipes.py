"""Per-loss training recipes: the output-bias start and training overrides that suit each loss.

METHODS §3 "Output bias": the reference implementation starts the classifier bias at zero.
Starting it at each label's training log-odds (the prior start of Lin et al., "Focal Loss",
§4.1) helps BCE and WCE, which otherwise spend their first epochs learning that most labels are
rare. It starves the focal / negative-tolerant family of gradient from negatives, though: with
every logit at its prior, the focal term ``p^γ`` of a negative cell is tiny, and the NTR-FL / DB
negatives see ``q^γ`` with ``q ≈ prior``. Measured on Reuters (Kim CNN, 6 epochs): about 0.5% of
the logit gradient then comes from negative cells, against 50% for BCE, so the network learns to
raise every score; with the bias at zero DB went from 0.628 / 0.044 to 0.708 / 0.085 test
micro / macro-F1, while BCE lost macro-F1 without the prior start (0.171 → 0.123).

The family's gradients are also an order of magnitude smaller than BCE's (Reuters training loss
after one epoch: DB 0.37, BCE 3.4), so Adam's *coupled* L2 weight decay (added to the gradient
before Adam normalises it) regularises them about ten times harder. Measured on Reuters
validation micro-F1 (Kim CNN, 5 epochs, zero bias, weight decay 3e-4 → 0): DB 0.673 → 0.744,
NTR-FL 0.721 → 0.762, CB 0.640 → 0.720, R-FL 0.682 → 0.734. A larger learning rate did not help
(DB at 5e-3 instead of 2e-3: 0.622 after 3 epochs against 0.660): Adam normalises the step.

So the defaults (:data:`DEFAULT_RECIPES`) are ``prior`` for ``bce`` and ``wce``, and ``zero``
with ``weight_decay: 0`` for the focal / CB / R-FL / NTR-FL / DB family. A model configured
with ``output_bias: auto`` follows its loss's recipe (start and overrides); an explicit
``prior``, ``zero`` or ``fitted`` (:mod:`longtail_mltc.losses.bias_start`) opts out of the
recipe (the transformer backbone: ``zero``, and AdamW's decoupled decay, whose strength does
not depend on the loss's scale).
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
