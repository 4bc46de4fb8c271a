"""A batch of texts labelled as the ``predict`` pipeline writes it (docs/tracking.md): one row
per text, a text the labeler refuses on its own kept as an empty row with the reason."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .pyfunc import TOP_K

__all__ = ["label_table"]

_NOTHING = {"labels": [], "scores": [], "top_k": []}


def label_table(
    labeler: Any, ids: Sequence[Any], texts: Sequence[str], top_k: int = TOP_K
) -> tuple[pd.DataFrame, list[int]]:
    """Label ``texts`` with ``labeler`` (a :class:`~longtail_mltc.inference.TextLabeler`).

    Returns one row per text, in input order: ``id``, ``predicted_labels`` and their
    ``scores`` (``;``-separated, 4 decimals), the ``top_k`` as JSON and ``skipped``: the
    reason of :meth:`~longtail_mltc.inference.TextLabeler.text_problem` for a refused text
    (blank, too long), whose row has empty labels and scores and ``top_k`` ``[]``, or "" for a
    labelled one. Also the 1-based numbers of the refused records.
    """
    texts = list(texts)
    reasons = [labeler.text_problem(text) for text in texts]
    kept = [i for i, reason in enumerate(reasons) if not reason]
    results = labeler.predict([texts[i] for i in kept], top_k=top_k) if kept else []
    by_row = dict(zip(kept, results, strict=True))
    rows = [by_row.get(i, _NOTHING) for i in range(len(texts))]
    table = pd.DataFrame(
        {
            "id": ids,
            "predicted_labels": [";".join(r["labels"]) for r in rows],
            "scores": [";".join(f"{s:.4f}" for s in r["scores"]) for r in rows],
            "top_k": [json.dumps(r["top_k"]) for r in rows],
            "skipped": reasons,
        }
    )
    return table, [i + 1 for i, reason in enumerate(reasons) if reason]
