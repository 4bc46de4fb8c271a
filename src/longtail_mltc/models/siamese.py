"""Comparison component, Hybrid-Siamese network and multi-task loss (METHODS §1.3, §1.4, §1.6).

* :class:`ComparisonHead` - category-specific similarity (§1.3): gate
  ``h_c = ReLU((W q_c + b) / sqrt(|C|))``, ``h = |x_i − x_j| ∘ h_c``, similarity logit
  ``w·h + b'``; ``gated=False`` is the vanilla Siamese comparator of the ablations (§1.9).
* :class:`HybridSiameseNetwork` - any :class:`~longtail_mltc.models.MultiLabelClassifier`
  plus a comparison head that shares its encoder (§1.4);
  :meth:`HybridSiameseNetwork.from_classifier` initialises it from a trained single network.
* :func:`multitask_loss` - ``λ_s L_s + λ_m1 L_m1 + λ_m2 L_m2`` (§1.4); ``λ_m1 = λ_m2 = 0`` is
  the /MT ablation (§1.9).

Gate initialisation, compared space, loss reductions and the other choices where METHODS leaves
room: docs/hscnn.md#the-hybrid-siamese-model.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "BOUNDS",
    "CLASSIFICATION_REDUCTIONS",
    "ComparisonHead",
    "HybridOutput",
    "HybridSiameseNetwork",
    "MultiTaskLoss",
    "multitask_loss",
]


BOUNDS: tuple[str, ...] = ("none", "sigmoid")
"""The compared space: the representation itself, or its sigmoid (the reference's)."""
CLASSIFICATION_REDUCTIONS: tuple[str, ...] = ("label_mean", "label_sum")


class ComparisonHead(nn.Module):
    """Category-specific (or vanilla) similarity of two representations (METHODS §1.3).

    ``forward(x_i, x_j, label_ids)`` → similarity logits ``[B]``; ``s = sigmoid(logit)``.
    ``x_i, x_j``: ``[B, width]`` representations; ``label_ids``: int64 ``[B]`` (ignored when
    ``gated=False``, may then be ``None``). ``bound``: the compared space (module doc).
    """

    def __init__(
        self, width: int, num_labels: int, gated: bool = True, bound: str = "none"
    ) -> None:
        super().__init__()
        if width < 1 or num_labels < 1:
            raise ValueError(f"width and num_labels must be ≥ 1, got {width}, {num_labels}")
        if bound not in BOUNDS:
            raise ValueError(f"bound must be one of {BOUNDS}, got {bound!r}")
        self.width = width
        self.num_labels = num_labels
        self.gated = gated
        self.bound = bound
        self.scale = 1.0 / math.sqrt(num_labels)
        if gated:
            # Row c of this table is column c of W (W q_c for the one-hot q_c).
            self.gate_weight = nn.Embedding(num_labels, width)
            self.gate_bias = nn.Parameter(torch.full((width,), math.sqrt(num_labels)))
        else:
            self.register_module("gate_weight", None)
            self.register_parameter("gate_bias", None)
        self.output = nn.Linear(width, 1)  # w·h + b'

    def embed(self, representations: torch.Tensor) -> torch.Tensor:
        """Representations → the compared space: themselves, or ``σ(x)`` (``bound="sigmoid"``)."""
        return torch.sigmoid(representations) if self.bound == "sigmoid" else representations

    def gates(self, label_ids: torch.Tensor) -> torch.Tensor:
        """``h_c = ReLU((W q_c + b) / sqrt(|C|))`` for each label id: ``[..., width]``."""
        if not self.gated:
            raise RuntimeError("a vanilla (gated=False) comparison head has no category gate")
        return torch.relu((self.gate_weight(label_ids) + self.gate_bias) * self.scale)

    def features(
        self, x_i: torch.Tensor, x_j: torch.Tensor, label_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``h = |x_i − x_j| ∘ h_c`` (gated) or ``|x_i − x_j|`` (vanilla) in the compared space:
        ``[B, width]``."""
        h = (self.embed(x_i) - self.embed(x_j)).abs()
        if self.gated:
            if label_ids is None:
                raise ValueError("a gated comparison head needs label_ids")
            h = h * self.gates(label_ids)
        return h

    def forward(
        self, x_i: torch.Tensor, x_j: torch.Tensor, label_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.output(self.features(x_i, x_j, label_ids)).squeeze(-1)

    def label_weights(self, label_ids: torch.Tensor) -> torch.Tensor:
        """``w ∘ h_c`` per label ``[L, width]`` (``w`` repeated when vanilla).

        The similarity logit is ``Σ_k |x_k − x̄_k| (w ∘ h_c)_k + b'``, so batched scoring
        (:meth:`prototype_logits`) needs only these rows and ``b'``.
        """
        w = self.output.weight[0]
        if not self.gated:
            return w.expand(label_ids.shape[0], -1)
        return self.gates(label_ids) * w

    def prototype_logits(
        self,
        docs: torch.Tensor,
        prototypes: torch.Tensor,
        label_ids: torch.Tensor,
        max_elements: int = 2**17,
    ) -> torch.Tensor:
        """Similarity logits of every document against every prototype: ``[B, L]``.

        ``docs``: ``[B, width]`` representations (mapped into the compared space here);
        ``prototypes``: ``[L, width]`` **already in the compared space** (means of
        :meth:`embed`-ed support representations), prototype ``l`` belonging to label
        ``label_ids[l]`` (labels may repeat, e.g. one row per support document).
        With ``v_l = w ∘ h_{c_l}``, the logit ``Σ_k v_lk |x_bk − x̄_lk| + b'`` is computed as
        ``x_b·v_l + x̄_l·v_l − 2 Σ_k v_lk min(x_bk, x̄_lk) + b'`` (``|a − b| = a + b − 2 min(a, b)``):
        the first two terms are one matrix product for all pairs, and the last needs a single
        broadcast op (``minimum``) per block instead of two (``sub``, ``abs``), about 15% less
        time on CPU. ``min(x_b, x̄_l)`` is built at most about ``max_elements`` elements
        ``[labels × documents × width]`` at a time (chunks over labels, and over documents when
        one label's block alone exceeds the budget) and reduced against ``v_l`` with one batched
        matrix product per chunk. Differentiable (the gradient is ``v·sign(x − x̄)`` as for
        ``|x − x̄|``); the caller chooses ``no_grad`` / ``eval``.
        """
        if docs.ndim != 2 or prototypes.ndim != 2 or docs.shape[1] != prototypes.shape[1]:
            raise ValueError(
                f"docs {tuple(docs.shape)} and prototypes {tuple(prototypes.shape)} must be "
                "[B, width] and [L, width] with the same width"
            )
        if label_ids.shape != (prototypes.shape[0],):
            raise ValueError(
                f"label_ids has shape {tuple(label_ids.shape)}, expected ({prototypes.shape[0]},)"
            )
        if max_elements < 1:
            raise ValueError(f"max_elements must be ≥ 1, got {max_elements}")
        n_docs, width = docs.shape
        n_labels = prototypes.shape[0]
        if n_docs == 0 or n_labels == 0:
            return docs.new_empty((n_docs, n_labels))
        docs = self.embed(docs)
        weights = self.label_weights(label_ids).to(docs.dtype)  # v [L, width]
        bias = self.output.bias[0].to(docs.dtype)
        linear = torch.addmm((prototypes * weights).sum(dim=1) + bias, docs, weights.T)
        minima = docs.new_empty((n_labels, n_docs))  # [l, b] = Σ_k v_lk min(x_bk, x̄_lk)
        label_chunk = max(1, min(n_labels, max_elements // (n_docs * width)))
        doc_chunk = n_docs if label_chunk > 1 else max(1, min(n_docs, max_elements // width))
        needs_graph = torch.is_grad_enabled() and (
            docs.requires_grad or prototypes.requires_grad or weights.requires_grad
        )
        if label_chunk == 1 and not needs_graph:
            _label_at_a_time_minima(docs, prototypes, weights, doc_chunk, minima)
        else:  # several labels per block (large budgets, e.g. on GPUs), or autograd
            for lo in range(0, n_labels, label_chunk):
                hi = min(lo + label_chunk, n_labels)
                protos = prototypes[lo:hi].unsqueeze(1)  # [l, 1, width]
                v = weights[lo:hi].unsqueeze(2)  # [l, width, 1]
                for d_lo in range(0, n_docs, doc_chunk):
                    block = docs[d_lo : d_lo + doc_chunk].unsqueeze(0)  # [1, b, width]
                    low = torch.minimum(protos, block)  # [l, b, width]
                    minima[lo:hi, d_lo : d_lo + doc_chunk] = torch.bmm(low, v).squeeze(2)
        return torch.add(linear, minima.T, alpha=-2)


def _label_at_a_time_minima(
    docs: torch.Tensor,
    prototypes: torch.Tensor,
    weights: torch.Tensor,
    doc_chunk: int,
    out: torch.Tensor,
) -> None:
    """``out[l, b] = Σ_k v_lk min(x_bk, x̄_lk)`` one label and ``doc_chunk`` documents at a time.

    The CPU path without autograd: one ``[doc_chunk, width]`` buffer (cache-sized) is reused,
    and each block costs two calls (``minimum``, ``mv``) writing in place: about 1.3x faster
    than blocks of the same size reduced by ``bmm``, and on the real Delicious test set 2x
    faster than the former ``[labels, docs, width]`` blocks of 2**20 elements
    (benchmarks/bench_tail_scoring.py).
    """
    buffer = docs.new_empty((doc_chunk, docs.shape[1]))
    blocks = [
        (docs[lo : lo + doc_chunk], slice(lo, lo + doc_chunk))
        for lo in range(0, len(docs), doc_chunk)
    ]
    for proto, v, row in zip(prototypes, weights, out, strict=True):
        for block, cols in blocks:
            low = buffer[: len(block)]
            torch.minimum(block, proto, out=low)
            torch.mv(low, v, out=row[cols])


class HybridOutput(NamedTuple):
    """What :meth:`HybridSiameseNetwork.forward` returns."""

    similarity_logits: torch.Tensor  # [B]
    logits_first: torch.Tensor  # [B, |C|]
    logits_second: torch.Tensor  # [B, |C|]


class HybridSiameseNetwork(nn.Module):
    """HSCNN: a multi-label classifier and a comparison head sharing its encoder (§1.4).

    ``classifier`` is any module with ``.represent(token_ids) → [B, width]`` and a linear
    ``.head`` (width → |C|), e.g. any encoder of the registry wrapped in
    :class:`~longtail_mltc.models.MultiLabelClassifier`. The instance is used as is (its
    parameters are shared); :meth:`from_classifier` copies a trained single network first, and
    :meth:`load_classifier_state` loads saved single-network weights into this one (§1.6).
    """

    def __init__(
        self,
        classifier: nn.Module,
        gated: bool = True,
        comparison: ComparisonHead | None = None,
        bound: str = "none",
    ) -> None:
        super().__init__()
        head = getattr(classifier, "head", None)
        if not isinstance(head, nn.Linear) or not callable(getattr(classifier, "represent", None)):
            raise TypeError("classifier needs a .represent(token_ids) method and a linear .head")
        self.classifier = classifier
        width, num_labels = head.in_features, head.out_features
        if comparison is None:
            comparison = ComparisonHead(width, num_labels, gated=gated, bound=bound)
        elif (comparison.width, comparison.num_labels) != (width, num_labels):
            raise ValueError(
                f"comparison head is {comparison.width} × {comparison.num_labels}, the "
                f"classifier {width} × {num_labels}"
            )
        self.comparison = comparison

    @classmethod
    def from_classifier(
        cls,
        classifier: nn.Module,
        gated: bool = True,
        copy_weights: bool = True,
        bound: str = "none",
    ) -> HybridSiameseNetwork:
        """HSCNN initialised from a trained single network (METHODS §1.6 step 2).

        ``copy_weights=True`` (default) deep-copies ``classifier`` so that training the HSCNN
        leaves the single network untouched (it is still needed for the Single/Naive variants);
        ``False`` shares the instance.
        """
        return cls(
            copy.deepcopy(classifier) if copy_weights else classifier, gated=gated, bound=bound
        )

    def load_classifier_state(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a single network's ``state_dict`` (encoder + head) into the shared classifier."""
        self.classifier.load_state_dict(state_dict)

    @property
    def gated(self) -> bool:
        return self.comparison.gated

    @property
    def num_labels(self) -> int:
        return self.comparison.num_labels

    @property
    def bound(self) -> str:
        return self.comparison.bound

    def represent(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.classifier.represent(token_ids)

    def classify(self, token_ids: torch.Tensor) -> torch.Tensor:
        """The single network's logits ``[B, |C|]``."""
        return self.classifier.head(self.represent(token_ids))

    def forward(
        self,
        first_ids: torch.Tensor,
        second_ids: torch.Tensor,
        label_ids: torch.Tensor | None = None,
    ) -> HybridOutput:
        """Triplets ``(d_i, d_j, c)`` → similarity logits and both documents' label logits.

        Each side is encoded once (two encoder passes in all: the sides may be padded to
        different lengths, and not every encoder is padding-invariant); the representation
        feeds both the comparison head and the classifier head.
        """
        return self.compare(self.represent(first_ids), self.represent(second_ids), label_ids)

    def compare(
        self,
        x_first: torch.Tensor,
        x_second: torch.Tensor,
        label_ids: torch.Tensor | None = None,
    ) -> HybridOutput:
        """:meth:`forward` from representations already computed (e.g. encoded in buckets of
        similar length): similarity logits and both sides' label logits."""
        head = self.classifier.head
        return HybridOutput(
            self.comparison(x_first, x_second, label_ids), head(x_first), head(x_second)
        )


class MultiTaskLoss(NamedTuple):
    """The total loss and its unweighted parts (parts are for logging)."""

    total: torch.Tensor
    similarity: torch.Tensor  # L_s
    first: torch.Tensor  # L_m1
    second: torch.Tensor  # L_m2


def multitask_loss(
    similarity_logits: torch.Tensor,
    targets: torch.Tensor,
    logits_first: torch.Tensor,
    y_first: torch.Tensor,
    logits_second: torch.Tensor,
    y_second: torch.Tensor,
    classification_loss: nn.Module,
    lambda_s: float = 1.0,
    lambda_m1: float = 1.0,
    lambda_m2: float = 1.0,
    classification_reduction: str = "label_mean",
) -> MultiTaskLoss:
    """``L = λ_s L_s + λ_m1 L_m1 + λ_m2 L_m2`` (METHODS §1.4).

    ``L_s``: BCE-with-logits of the similarity against ``targets`` (1 similar, 0 dissimilar),
    mean over triplets. ``L_m1``/``L_m2``: ``classification_loss(logits, y, reduction="mean")``
    (any loss of :func:`~longtail_mltc.losses.build_loss`: mean over documents of the sum over
    labels) on the first / second documents with their full label vectors, divided by the
    number of labels for ``classification_reduction="label_mean"`` (the default, §1.4's scale),
    as is for ``"label_sum"``. A term whose λ is 0 is left out of ``total`` (so ``λ_m = 0`` gives
    exactly ``λ_s L_s``, the /MT ablation, even if that part were not finite); its part is still
    computed, without a graph, for logging.
    """
    if classification_reduction not in CLASSIFICATION_REDUCTIONS:
        raise ValueError(
            f"classification_reduction must be one of {CLASSIFICATION_REDUCTIONS}, got "
            f"{classification_reduction!r}"
        )
    scale = 1.0 / logits_first.shape[-1] if classification_reduction == "label_mean" else 1.0
    targets = targets.to(similarity_logits.dtype)
    if targets.shape != similarity_logits.shape:
        raise ValueError(
            f"targets {tuple(targets.shape)} and similarity logits "
            f"{tuple(similarity_logits.shape)} differ in shape"
        )
    parts = []
    terms = (
        (lambda_s, lambda: F.binary_cross_entropy_with_logits(similarity_logits, targets)),
        (lambda_m1, lambda: scale * classification_loss(logits_first, y_first, reduction="mean")),
        (
            lambda_m2,
            lambda: scale * classification_loss(logits_second, y_second, reduction="mean"),
        ),
    )
    total = similarity_logits.new_zeros(())
    for weight, compute in terms:
        with torch.set_grad_enabled(torch.is_grad_enabled() and weight != 0):
            part = compute()
        parts.append(part if weight != 0 else part.detach())
        if weight != 0:
            total = total + weight * part
    return MultiTaskLoss(total, *parts)
