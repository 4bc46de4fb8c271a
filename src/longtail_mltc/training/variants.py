"""The variants of METHODS §1.9, as data: what each one changes in HSCNN training.

=========  =========  ==================  ==============  ==========================
variant    gate h_c   training examples   multi-task      head labels decided by
=========  =========  ==================  ==============  ==========================
single     -          - (no Siamese)      -               the single network
naive      no         plain pairs         no (L_s only)   the untouched single network
no_css     no         plain pairs         yes             the HSCNN's own head
no_mt      yes        triplets            no (L_s only)   the untouched single network
hscnn      yes        triplets            yes             the HSCNN's own head
=========  =========  ==================  ==============  ==========================

Without multi-task the classifier head gets no gradient while the shared encoder moves, so its
outputs drift from what it was trained for; the head labels of ``naive`` and ``no_mt`` are
therefore taken from the single network they were initialised from (``naive`` is by definition
"single network + a separately trained Siamese", and ``no_mt`` gets the same treatment so that
the two differ only in the gate and the sampling).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .hscnn import HSCNNTrainConfig

__all__ = ["VARIANTS", "HSCNNVariant", "get_variant"]


@dataclass(frozen=True)
class HSCNNVariant:
    """One row of the table in the module docstring."""

    name: str
    siamese: bool = True
    gated: bool = True
    triplets: bool = True
    multitask: bool = True
    head_from_single: bool = False

    @property
    def examples(self) -> str:
        """Which sampled examples train it: ``"triplets"``, ``"pairs"`` or ``"none"``."""
        if not self.siamese:
            return "none"
        return "triplets" if self.triplets else "pairs"

    def configure(self, config: HSCNNTrainConfig) -> HSCNNTrainConfig:
        """``config`` with the multi-task weights of this variant (λ_m1 = λ_m2 = 0 without MT)."""
        if self.multitask:
            return config
        return replace(config, lambda_m1=0.0, lambda_m2=0.0)


VARIANTS: dict[str, HSCNNVariant] = {
    v.name: v
    for v in (
        HSCNNVariant("single", siamese=False, gated=False, triplets=False, multitask=False),
        HSCNNVariant("naive", gated=False, triplets=False, multitask=False, head_from_single=True),
        HSCNNVariant("no_css", gated=False, triplets=False),
        HSCNNVariant("no_mt", multitask=False, head_from_single=True),
        HSCNNVariant("hscnn"),
    )
}


def get_variant(name: str) -> HSCNNVariant:
    """The variant called ``name``; an unknown name is a ``ValueError`` listing the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(
            f"unknown HSCNN variant {name!r}; expected one of {', '.join(VARIANTS)}"
        ) from None
