"""Vocabulary and id encoding (DESIGN "text/"; METHODS §1.1 and §2.1: tokens plus PAD and UNK).

Id 0 is always ``<pad>`` and id 1 always ``<unk>``; regular tokens follow in order of
decreasing training frequency (ties broken alphabetically), so the same corpus always gives the
same ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

import numpy as np

__all__ = ["PAD", "PAD_ID", "UNK", "UNK_ID", "Vocabulary", "build_vocabulary", "encode"]

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1
_SPECIALS = (PAD, UNK)


@dataclass(frozen=True)
class Vocabulary:
    """An immutable token ↔ id mapping; ``tokens[i]`` is the token of id ``i``.

    ``tokens[0]`` must be ``"<pad>"`` and ``tokens[1]`` ``"<unk>"``; tokens must be unique.
    Unknown tokens look up to :data:`UNK_ID`.
    """

    tokens: tuple[str, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = tuple(self.tokens)
        if tokens[:2] != _SPECIALS:
            raise ValueError(f"a vocabulary must start with {_SPECIALS}, got {tokens[:2]}")
        index = {token: i for i, token in enumerate(tokens)}
        if len(index) != len(tokens):
            dupes = sorted(t for t, n in Counter(tokens).items() if n > 1)[:5]
            raise ValueError(f"vocabulary tokens must be unique; duplicated: {dupes}")
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "index", index)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def lookup(self, token: str) -> int:
        """Id of ``token``, or :data:`UNK_ID` when it is not in the vocabulary."""
        return self.index.get(token, UNK_ID)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` (padding ids included; strip them with the lengths from encode)."""
        return [self.tokens[i] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: ``{"tokens": [...]}``."""
        return {"tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["tokens"]))


def build_vocabulary(
    token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
) -> Vocabulary:
    """Build a vocabulary from (training) token lists.

    Frequency is the total number of occurrences. Tokens seen fewer than ``min_freq`` times are
    dropped; the remaining ones are ordered by frequency descending, then token ascending, and
    the first ``max_size`` kept. ``max_size`` counts regular tokens only: the result has at most
    ``max_size + 2`` entries (METHODS §2.1: "60,000 most frequent tokens plus PAD and UNK").
    Literal ``"<pad>"``/``"<unk>"`` tokens in the text are not counted (they map to the specials).
    """
    if min_freq < 1:
        raise ValueError(f"min_freq must be >= 1, got {min_freq}")
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must be >= 0 or None, got {max_size}")
    counts: Counter[str] = Counter()
    for tokens in token_lists:
        if isinstance(tokens, str):
            raise TypeError("token_lists must hold lists of tokens, not strings")
        counts.update(tokens)
    for special in _SPECIALS:
        counts.pop(special, None)
    kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
    if max_size is not None:
        kept = kept[:max_size]
    return Vocabulary((*_SPECIALS, *kept))


def encode(
    token_lists: Iterable[Sequence[str]], vocab: Vocabulary, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Map token lists to a right-padded id matrix.

    Returns ``(ids, lengths)``: ``ids`` int64 ``[N, max_len]``, each row the ids of the document's
    first ``max_len`` tokens (out-of-vocabulary → :data:`UNK_ID`) followed by :data:`PAD_ID`;
    ``lengths`` int64 ``[N]``, the number of real tokens after truncation,
    ``min(len(tokens), max_len)``. A document with no tokens gets length 0 and an all-pad row;
    models that cannot take empty sequences must guard against that themselves.
    Vectorised: one flat id array for the whole corpus, scattered into the matrix at once
    (``benchmarks/bench_encode.py`` compares it with a per-document loop).
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    docs = token_lists if isinstance(token_lists, Sequence) else list(token_lists)
    n_docs = len(docs)
    if n_docs and isinstance(docs[0], str):
        raise TypeError("token_lists must hold lists of tokens, not strings")
    lengths = np.fromiter((min(len(t), max_len) for t in docs), dtype=np.int64, count=n_docs)
    # One C-level dict lookup per token over the concatenated (truncated) documents...
    flat = np.fromiter(
        map(vocab.index.get, chain.from_iterable(t[:max_len] for t in docs), repeat(UNK_ID)),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    # ...then one boolean-mask scatter: True cells are filled in row-major order.
    ids = np.full((n_docs, max_len), PAD_ID, dtype=np.int64)
    ids[np.arange(max_len) < lengths[:, None]] = flat
    return ids, lengths
