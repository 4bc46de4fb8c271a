"""Classification with the Siamese part: label prototypes and batched scoring (METHODS §1.7).

For a document ``d`` and a label ``c``: average the representations of ``K`` training documents
of ``c`` (its *support*) into a prototype ``x̄_c`` and compute ``s(x_d, x̄_c, c)``; ``c`` is
assigned when ``s > 0.5``. Prototypes are computed once per label, and all (document, label)
pairs of a batch of documents are scored by one broadcast computation
(:meth:`~longtail_mltc.models.siamese.ComparisonHead.prototype_logits`), never one forward pass
per pair.

Conventions:

* ``support``: int64 ``[labels, K]`` of training-row indices, ``-1`` = padding (a label with
  fewer than ``K`` training documents uses all of them). A label with no support document is
  *invalid*: its prototype is a zero row, and it scores 0 (never assigned).
* Majority-vote option (§1.7): compare with each of the ``K`` support documents; the score is
  the fraction of valid support documents with ``s > 0.5`` (tested as logit ``> 0``, the exact
  equivalent), so the rule ``score > 0.5`` means a strict majority: a tie (half of an even
  number of support documents) is **not** assigned.
* Prototypes and per-support representations live in the comparison head's compared space
  (``head.embed``: the representation itself, or its sigmoid); documents are mapped there by
  the head when scored.
* Scoring runs under ``torch.inference_mode`` with the modules in eval mode (their previous
  mode is restored), on the device of the comparison head's parameters (inputs are moved there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .siamese import ComparisonHead, HybridSiameseNetwork

__all__ = [
    "DEFAULT_MAX_ELEMENTS",
    "Prototypes",
    "SupportRepresentations",
    "SupportSet",
    "encode_documents",
    "encode_support",
    "evaluating",
    "label_prototypes",
    "score_labels",
    "score_labels_majority",
    "score_tail_labels",
    "scorer_from_support",
    "select_labels",
    "support_scorer",
    "support_representations",
]

# Elements of one [labels × documents × width] block: 512 KB in float32, small enough to stay in
# a CPU core's L2 cache (bench_tail_scoring.py, real Delicious: 2**17 beats 2**20 by 2x and
# 2**22 by 3x); raise it on GPUs, where blocks of several labels pay off.
DEFAULT_MAX_ELEMENTS = 2**17


class Prototypes(NamedTuple):
    """Mean support representation per label and whether the label has any support."""

    means: torch.Tensor  # [L, width]; zero rows for invalid labels
    valid: torch.Tensor  # bool [L]


class SupportRepresentations(NamedTuple):
    """Representations of each label's support documents (for the majority vote)."""

    representations: torch.Tensor  # [L, K, width]; padding slots hold row 0 (masked out)
    mask: torch.Tensor  # bool [L, K]; False = padding


def _check_support(support: np.ndarray | torch.Tensor, n_rows: int) -> torch.Tensor:
    s = torch.as_tensor(np.asarray(support))
    if s.ndim != 2:
        raise ValueError(f"support must be 2-D [labels, K], got shape {tuple(s.shape)}")
    if s.dtype.is_floating_point or s.dtype == torch.bool:
        raise ValueError(f"support must hold integer row indices, got {s.dtype}")
    s = s.to(torch.int64)
    if s.numel() and (s.min() < -1 or s.max() >= n_rows):
        raise ValueError(
            f"support indices must be in [-1, {n_rows - 1}] (-1 = padding), got "
            f"[{int(s.min())}, {int(s.max())}]"
        )
    return s


def support_representations(
    train_representations: torch.Tensor, support: np.ndarray | torch.Tensor
) -> SupportRepresentations:
    """Gather each label's support representations ``[L, K, width]`` and the padding mask."""
    if train_representations.ndim != 2:
        raise ValueError(
            f"train_representations must be [N, width], got {tuple(train_representations.shape)}"
        )
    s = _check_support(support, train_representations.shape[0]).to(train_representations.device)
    mask = s >= 0
    if train_representations.shape[0] == 0:  # no support document at all: every slot padding
        empty = train_representations.new_zeros((*s.shape, train_representations.shape[1]))
        return SupportRepresentations(empty, mask)
    return SupportRepresentations(train_representations[s.clamp(min=0)], mask)


def label_prototypes(
    train_representations: torch.Tensor, support: np.ndarray | torch.Tensor
) -> Prototypes:
    """``x̄_c``: mean of the non-padding support representations of each label (§1.7)."""
    reps, mask = support_representations(train_representations, support)
    weights = mask.to(reps.dtype).unsqueeze(2)  # [L, K, 1]
    counts = mask.sum(dim=1)
    means = (reps * weights).sum(dim=1) / counts.clamp(min=1).unsqueeze(1).to(reps.dtype)
    return Prototypes(means, counts > 0)


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Eval mode + inference mode for the block; the previous training flags are restored."""
    flags = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        with torch.inference_mode():
            yield
    finally:
        for m, flag in zip(modules, flags, strict=True):
            m.train(flag)


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _label_tensor(label_ids: np.ndarray | torch.Tensor, n: int, device: torch.device):
    ids = torch.as_tensor(np.asarray(label_ids), dtype=torch.int64, device=device)
    if ids.shape != (n,):
        raise ValueError(f"label_ids has shape {tuple(ids.shape)}, expected ({n},)")
    return ids


def _chunk_budget(chunk_labels: int | None, n_docs: int, width: int, max_elements: int) -> int:
    """Elements per block: ``chunk_labels`` labels × the whole document batch, or the budget."""
    if chunk_labels is None:
        return max_elements
    if chunk_labels < 1:
        raise ValueError(f"chunk_labels must be ≥ 1, got {chunk_labels}")
    return chunk_labels * max(n_docs, 1) * width


def score_labels(
    head: ComparisonHead,
    doc_representations: torch.Tensor,
    prototypes: torch.Tensor | Prototypes,
    label_ids: np.ndarray | torch.Tensor,
    chunk_labels: int | None = None,
    *,
    valid: torch.Tensor | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> torch.Tensor:
    """Similarities ``s(x_b, x̄_l, c_l)`` (sigmoid probabilities) of all pairs: ``[B, L]``.

    One batched computation of ``|x_b − x̄_l| ∘ h_{c_l}`` ``[B × L × width]``, in chunks of
    ``chunk_labels`` labels, or, when ``None``, of at most ``max_elements`` elements.
    ``prototypes``: ``[L, width]`` means (or a :class:`Prototypes`, which also gives ``valid``);
    ``label_ids[l]``: the label of prototype row ``l``. Labels with ``valid[l]`` False score 0.
    """
    if isinstance(prototypes, Prototypes):
        if valid is None:
            valid = prototypes.valid
        prototypes = prototypes.means
    device = _device(head)
    docs = doc_representations.to(device)
    protos = prototypes.to(device)
    ids = _label_tensor(label_ids, protos.shape[0], device)
    budget = _chunk_budget(chunk_labels, docs.shape[0], protos.shape[-1], max_elements)
    with evaluating(head):
        scores = torch.sigmoid(head.prototype_logits(docs, protos, ids, max_elements=budget))
        if valid is not None:
            valid = torch.as_tensor(valid, dtype=torch.bool, device=device)
            if valid.shape != (protos.shape[0],):
                raise ValueError(f"valid has shape {tuple(valid.shape)}, expected ({len(ids)},)")
            scores = scores.masked_fill(~valid, 0.0)
    return scores


def score_labels_majority(
    head: ComparisonHead,
    doc_representations: torch.Tensor,
    support: SupportRepresentations,
    label_ids: np.ndarray | torch.Tensor,
    chunk_labels: int | None = None,
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> torch.Tensor:
    """Majority-vote option of §1.7: fraction of a label's support documents with ``s > 0.5``.

    Every document is compared with each of the ``K`` support documents of every label in one
    batched computation (``[B × L·K × width]``, chunked as :func:`score_labels`). Returns
    ``[B, L]`` vote shares in ``[0, 1]``; assign when ``> 0.5`` (strict majority, a tie is not
    assigned). Labels without support score 0.
    """
    reps, mask = support
    if reps.ndim != 3 or mask.shape != reps.shape[:2]:
        raise ValueError(
            f"support representations {tuple(reps.shape)} / mask {tuple(mask.shape)} must be "
            "[L, K, width] / [L, K]"
        )
    device = _device(head)
    n_labels, k, width = reps.shape
    docs = doc_representations.to(device)
    ids = _label_tensor(label_ids, n_labels, device)
    mask = mask.to(device)
    budget = _chunk_budget(chunk_labels, docs.shape[0], width * k, max_elements)
    with evaluating(head):
        logits = head.prototype_logits(
            docs, reps.to(device).reshape(n_labels * k, width), ids.repeat_interleave(k), budget
        ).view(docs.shape[0], n_labels, k)
        votes = ((logits > 0) & mask).sum(dim=2)
        n_valid = mask.sum(dim=1)
        return votes.to(docs.dtype) / n_valid.clamp(min=1).to(docs.dtype)


TokenIds = torch.Tensor | np.ndarray


def _batches(token_ids: TokenIds | Iterable[TokenIds], batch_size: int) -> Iterator[TokenIds]:
    if isinstance(token_ids, torch.Tensor | np.ndarray):
        for start in range(0, token_ids.shape[0], batch_size):
            yield token_ids[start : start + batch_size]
    else:
        yield from token_ids


def _to_ids(batch: TokenIds, device: torch.device, pad_id: int | None) -> torch.Tensor:
    ids = torch.as_tensor(np.asarray(batch) if isinstance(batch, np.ndarray) else batch)
    ids = ids.to(device=device, dtype=torch.int64)
    if pad_id is not None and ids.numel():  # drop trailing columns that are padding everywhere
        used = (ids != pad_id).any(dim=0).nonzero()
        ids = ids[:, : int(used.max()) + 1 if used.numel() else 1]
    return ids


def encode_documents(
    model: nn.Module,
    token_ids: TokenIds | Iterable[TokenIds],
    batch_size: int = 512,
    pad_id: int | None = 0,
) -> torch.Tensor:
    """Representations ``[N, width]`` of documents (``model.represent``, eval + inference mode).

    ``token_ids``: a right-padded ``[N, T]`` tensor/array (encoded ``batch_size`` rows at a
    time) or an iterable of such batches. With ``pad_id`` set, each batch is trimmed to its
    longest document (valid for padding-invariant encoders such as the Kim CNN; pass ``None``
    to keep the given width), and a tensor/array is encoded in order of length (rows returned
    in the given order).
    """
    device = _device(model)
    order = None
    if pad_id is not None and isinstance(token_ids, torch.Tensor | np.ndarray):
        # encode in order of length so each batch trims to similar lengths; rows come back in
        # the given order
        lengths = (torch.as_tensor(np.asarray(token_ids)) != pad_id).sum(dim=1)
        order = torch.argsort(lengths, stable=True)
        token_ids = token_ids[order.numpy() if isinstance(token_ids, np.ndarray) else order]
    with evaluating(model):
        out = [model.represent(_to_ids(b, device, pad_id)) for b in _batches(token_ids, batch_size)]
    if not out:
        return torch.empty(0, 0, device=device)
    reps = torch.cat(out)
    if order is None:
        return reps
    restored = torch.empty_like(reps)
    restored[order.to(device)] = reps
    return restored


class SupportSet(NamedTuple):
    """Encoded support documents: each distinct document once, and every label's rows of it."""

    representations: torch.Tensor  # [U, width]: the distinct support documents
    index: torch.Tensor  # int64 [L, K]: rows of ``representations``, -1 = padding


def encode_support(
    model: HybridSiameseNetwork,
    train_token_ids: TokenIds,
    support: np.ndarray,
    *,
    batch_size: int = 512,
    pad_id: int | None = 0,
) -> SupportSet:
    """Encode the distinct support documents of ``support`` (training-row indices) once.

    What a packaged predictor stores instead of the training corpus: the scores of
    :func:`scorer_from_support` on this set equal those of :func:`support_scorer`.
    """
    s = _check_support(support, len(train_token_ids)).numpy()
    rows, inverse = np.unique(s[s >= 0], return_inverse=True)
    local = np.full_like(s, -1)
    local[s >= 0] = inverse
    if isinstance(train_token_ids, torch.Tensor):
        train_ids: TokenIds = train_token_ids[torch.as_tensor(rows)]
    else:
        train_ids = np.asarray(train_token_ids)[rows]
    if rows.size:
        reps = encode_documents(model, train_ids, batch_size, pad_id)
    else:
        reps = torch.zeros(0, model.comparison.width, device=_device(model))
    return SupportSet(reps, torch.as_tensor(local, dtype=torch.int64))


def select_labels(support: SupportSet, rows: np.ndarray | torch.Tensor) -> SupportSet:
    """The support set of the labels at ``rows`` of ``support.index``, keeping only the
    representations they use (a gather: their prototypes and votes are unchanged)."""
    index = support.index[torch.as_tensor(np.asarray(rows), dtype=torch.int64)]
    valid = index >= 0
    used, inverse = torch.unique(index[valid], return_inverse=True)
    local = torch.full_like(index, -1)
    local[valid] = inverse
    return SupportSet(support.representations[used.to(support.representations.device)], local)


def scorer_from_support(
    head: ComparisonHead,
    support: SupportSet,
    label_ids: np.ndarray | torch.Tensor,
    *,
    majority: bool = False,
    chunk_labels: int | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``representations [B, w] → [B, L]`` scores of ``label_ids`` against an encoded support set.

    ``support.index[l]`` are the support rows of label ``label_ids[l]``. ``majority=False``:
    prototype similarity (§1.7); ``True``: vote share (see module doc). Labels without support
    documents score 0. The support representations are mapped into the head's compared space
    (:meth:`~longtail_mltc.models.siamese.ComparisonHead.embed`) before they are averaged.
    """
    device = _device(head)
    with torch.inference_mode():
        reps = head.embed(support.representations.to(device))
    if majority:
        per_support = support_representations(reps, support.index)
        return lambda docs: score_labels_majority(
            head, docs, per_support, label_ids, chunk_labels, max_elements=max_elements
        )
    prototypes = label_prototypes(reps, support.index)
    return lambda docs: score_labels(
        head, docs, prototypes, label_ids, chunk_labels, max_elements=max_elements
    )


def support_scorer(
    model: HybridSiameseNetwork,
    train_token_ids: TokenIds,
    support: np.ndarray,
    label_ids: np.ndarray | torch.Tensor,
    *,
    majority: bool = False,
    batch_size: int = 512,
    chunk_labels: int | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    pad_id: int | None = 0,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Encode the distinct support documents once; return ``representations [B, w] → [B, L]``.

    ``support[l]`` holds training-row indices (into ``train_token_ids``) of label
    ``label_ids[l]``: :func:`encode_support` then :func:`scorer_from_support`.
    """
    encoded = encode_support(model, train_token_ids, support, batch_size=batch_size, pad_id=pad_id)
    return scorer_from_support(
        model.comparison,
        encoded,
        label_ids,
        majority=majority,
        chunk_labels=chunk_labels,
        max_elements=max_elements,
    )


def score_tail_labels(
    model: HybridSiameseNetwork,
    doc_token_ids: TokenIds | Iterable[TokenIds],
    train_token_ids: TokenIds,
    support: np.ndarray,
    label_ids: np.ndarray | torch.Tensor,
    *,
    majority: bool = False,
    batch_size: int = 512,
    chunk_labels: int | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    pad_id: int | None = 0,
) -> torch.Tensor:
    """Everything from token ids to Siamese scores of ``label_ids``: ``[D, L]`` on the CPU.

    See :func:`support_scorer`. Documents are encoded and scored ``batch_size`` at a time, so
    their representations are never all held at once.
    """
    scorer = support_scorer(
        model,
        train_token_ids,
        support,
        label_ids,
        majority=majority,
        batch_size=batch_size,
        chunk_labels=chunk_labels,
        max_elements=max_elements,
        pad_id=pad_id,
    )
    out = [
        scorer(encode_documents(model, [batch], batch_size, pad_id)).cpu()
        for batch in _batches(doc_token_ids, batch_size)
    ]
    return torch.cat(out) if out else torch.zeros(0, len(support))
