"""A synthetic BioASQ task A file in the real files' shape, for tests and the benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["write_synthetic_bioasq"]

_SYNTHETIC_EXTRA_CHARS = ("°", "µ", "é", "ü", "±")  # all encodable in latin-1 too


def write_synthetic_bioasq(
    path: Path | str,
    n_articles: int,
    *,
    seed: int = 0,
    line_break: str = "\r\n",
    encoding: str = "utf-8",
    n_headings: int = 5000,
) -> int:
    """Write ``n_articles`` synthetic articles in the allMeSH file shape; return its byte size.

    One article per line (``line_break``, Windows by default), keys in the real files' order,
    pmid 10000000 + i, year "1950".."2023", a 6-20-word title, a 80-320-word abstract (~1.5 KB,
    some non-ASCII characters, written unescaped like the real files) and 3-20 distinct
    headings drawn Zipf-like from ``n_headings`` names. Written article by article: constant
    memory for any size.
    """
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, size=int(n))) for n in rng.integers(2, 12, size=4000)]
    words += [f"{rng.integers(1, 99)}{char}" for char in _SYNTHETIC_EXTRA_CHARS]
    vocabulary = np.array(words, dtype=object)
    headings = [f"Heading {i:05d}, Synthetic" for i in range(n_headings)]
    batch = 1000
    with open(path, "w", encoding=encoding, newline="") as handle:
        handle.write('{"articles":[' + line_break)
        for start in range(0, n_articles, batch):
            count = min(batch, n_articles - start)
            title_lengths = rng.integers(6, 21, size=count)
            abstract_lengths = rng.integers(80, 321, size=count)
            word_ids = rng.zipf(1.2, size=int(title_lengths.sum() + abstract_lengths.sum()))
            tokens = vocabulary[np.minimum(word_ids - 1, len(vocabulary) - 1)]
            heading_ids = np.minimum(rng.zipf(1.3, size=(count, 20)) - 1, n_headings - 1)
            n_heads = rng.integers(3, 21, size=count)
            years = rng.integers(1950, 2024, size=count)
            cursor = 0
            for i in range(count):
                title = " ".join(tokens[cursor : cursor + title_lengths[i]]).capitalize() + "."
                cursor += title_lengths[i]
                abstract = " ".join(tokens[cursor : cursor + abstract_lengths[i]]) + "."
                cursor += abstract_lengths[i]
                article = {
                    "abstractText": abstract,
                    "journal": "Journal of synthetic articles",
                    "meshMajor": [
                        headings[h] for h in dict.fromkeys(heading_ids[i, : n_heads[i]].tolist())
                    ],
                    "pmid": str(10_000_000 + start + i),
                    "title": title,
                    "year": str(years[i]),
                }
                last = start + i == n_articles - 1
                handle.write(json.dumps(article, ensure_ascii=False) + ("" if last else ","))
                handle.write(line_break)
        handle.write("]}" + line_break)
    return Path(path).stat().st_size
