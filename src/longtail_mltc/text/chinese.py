"""Chinese word segmentation with jieba (METHODS §2.1: "segmented with jieba (no domain
dictionary)"; DESIGN "text/").

Choices, fixed here so every caller segments the same way:

- jieba's precise mode with its HMM for unknown words (``jieba.cut(text)`` with jieba's own
  defaults: METHODS names jieba and no options), on a private ``jieba.Tokenizer`` holding only
  jieba's bundled dictionary, so words added to jieba's global tokenizer elsewhere
  (``jieba.add_word``, user dictionaries) cannot change the result;
- whitespace tokens are dropped, and so are tokens without any letter or digit (punctuation and
  symbols: "，", "。", "……", "《"), as :func:`~longtail_mltc.text.tokenize.tokenize_english`
  drops punctuation; ``keep_punctuation=True`` keeps them;
- tokens are lowercased (Latin, and any other cased script; Chinese has no case). Lowercasing is
  applied after segmentation so that it cannot change where jieba cuts. No Unicode
  normalisation: full-width digits ("２０１８") stay as jieba splits them.

A *word* (for the IMCM "fewer than 50 words" rule) is one token of :func:`tokenize_jieba`.

The dictionary is loaded once per process, on first use, with jieba's own stderr logging
silenced (its logger ``jieba`` is set to WARNING); our messages go to
``longtail_mltc.text.chinese``. :func:`segment_corpus` segments a whole corpus, in parallel over
processes and cached on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import jieba

from longtail_mltc.atomic_files import write_atomically

__all__ = [
    "JIEBA_VERSION",
    "PARALLEL_MIN_CHARS",
    "segment_corpus",
    "segmentation_cache_key",
    "tokenize_jieba",
]

logger = logging.getLogger(__name__)

JIEBA_VERSION: str = jieba.__version__

PARALLEL_MIN_CHARS = 200_000
"""Below this many characters (about half a second of single-process segmentation, more than a
worker pool costs to start) :func:`segment_corpus` stays in the calling process."""

# Bump when the token rules of this module change: it is part of every cache key.
_RULES_VERSION = 1
_CACHE_FORMAT = "longtail_mltc.jieba-segmentation"
_CHUNKS_PER_WORKER = 8

# "has a letter or digit": [^\W_] is a word character other than "_" (any script).
_WORD_CHARACTER = re.compile(r"[^\W_]")

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _jieba() -> jieba.Tokenizer:
    """This process's jieba tokenizer, initialised (dictionary loaded) on first call."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                # jieba attaches a DEBUG-level stderr handler to its logger at import and
                # reports dictionary loading there; keep only its warnings and errors.
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()  # jieba's bundled dictionary only
                start = time.perf_counter()
                tokenizer.initialize()
                logger.debug(
                    "jieba %s dictionary loaded in %.2f s (pid %d)",
                    JIEBA_VERSION,
                    time.perf_counter() - start,
                    os.getpid(),
                )
                _tokenizer = tokenizer
    return _tokenizer


def tokenize_jieba(text: str, *, hmm: bool = True, keep_punctuation: bool = False) -> list[str]:
    """Segment ``text`` with jieba and return its lowercased word tokens (module doc).

    ``"我爱北京天安门"`` → ``["我", "爱", "北京", "天安门"]``; ``"他来到了网易杭研大厦。"`` →
    ``["他", "来到", "了", "网易", "杭研", "大厦"]`` ("杭研" is found by the HMM; with
    ``hmm=False`` it is "杭", "研"). Deterministic; the same in every process.
    """
    tokens = _jieba().cut(text, HMM=hmm)
    if keep_punctuation:
        return [token.lower() for token in tokens if token.strip()]
    return [token.lower() for token in tokens if _WORD_CHARACTER.search(token)]


# --- whole corpora ------------------------------------------------------------------------------


def segment_corpus(
    texts: Iterable[str],
    *,
    workers: int = 1,
    cache_dir: Path | str | None = None,
    hmm: bool = True,
    keep_punctuation: bool = False,
    min_parallel_chars: int = PARALLEL_MIN_CHARS,
) -> list[list[str]]:
    """:func:`tokenize_jieba` of every text, in order, in parallel and cached.

    ``workers``: processes to use (``-1``: one per available CPU). With more than one, the texts
    are cut into ordered chunks (about 8 per worker) segmented by a ``multiprocessing`` pool
    (jieba's own ``enable_parallel`` is global and POSIX-only, so it is not used); corpora of
    fewer than ``min_parallel_chars`` characters are segmented in this process, where a pool
    would cost more than it saves, and so are all texts when called inside a daemonic process
    (which may not start a pool). The result does not depend on ``workers``.

    ``cache_dir``: when given, the result is stored there as JSON lines under a name derived
    from :func:`segmentation_cache_key` (texts, jieba version and dictionary, options), and a
    later call with the same texts and options reads it back instead of segmenting (logged at
    INFO). An unreadable or mismatching cache file is logged and rebuilt.
    """
    texts = _checked_texts(texts)
    n_workers = _resolve_workers(workers)
    cache_path = None
    if cache_dir is not None:
        key = segmentation_cache_key(texts, hmm=hmm, keep_punctuation=keep_punctuation)
        cache_path = Path(cache_dir) / f"jieba-{key[:32]}.jsonl"
        cached = _read_cache(cache_path, key, len(texts))
        if cached is not None:
            logger.info(
                "jieba segmentation: reused cache %s (%d documents)", cache_path, len(cached)
            )
            return cached
    n_chars = sum(map(len, texts))
    _jieba()  # the dictionary load (about 0.7 s, once per process) is not segmentation time
    start = time.perf_counter()
    # A daemonic process (e.g. a worker of another pool) may not start a pool of its own.
    in_daemon = multiprocessing.current_process().daemon
    if n_workers > 1 and len(texts) > 1 and n_chars >= min_parallel_chars and not in_daemon:
        tokens = _segment_in_pool(texts, n_workers, hmm, keep_punctuation)
        used = n_workers
    else:
        tokens = [
            tokenize_jieba(text, hmm=hmm, keep_punctuation=keep_punctuation) for text in texts
        ]
        used = 1
    elapsed = time.perf_counter() - start
    logger.info(
        "jieba segmentation: %d documents, %d characters, %d tokens in %.1f s with %d process(es)",
        len(texts),
        n_chars,
        sum(map(len, tokens)),
        elapsed,
        used,
    )
    if cache_path is not None:
        _write_cache(cache_path, key, tokens, hmm=hmm, keep_punctuation=keep_punctuation)
        logger.info("jieba segmentation: cached in %s", cache_path)
    return tokens


def segmentation_cache_key(
    texts: Sequence[str], *, hmm: bool = True, keep_punctuation: bool = False
) -> str:
    """SHA-256 hex digest identifying a segmentation: the texts (in order), the jieba version,
    the bundled dictionary's content, this module's token rules and the options."""
    digest = hashlib.sha256()
    header = {
        "format": _CACHE_FORMAT,
        "rules": _RULES_VERSION,
        "jieba": JIEBA_VERSION,
        "dictionary_sha256": _dictionary_sha256(),
        "hmm": bool(hmm),
        "keep_punctuation": bool(keep_punctuation),
        "n_texts": len(texts),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


@cache
def _dictionary_sha256() -> str:
    path = Path(jieba.__file__).with_name(jieba.DEFAULT_DICT_NAME)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "unknown"


def _checked_texts(texts: Iterable[str]) -> list[str]:
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] is a {type(text).__name__}, expected str")
    return texts


def _resolve_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers must be an int, got {workers!r}")
    if workers == -1:
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    if workers < 1:
        raise ValueError(f"workers must be >= 1, or -1 for one per CPU; got {workers}")
    return workers


def _segment_in_pool(
    texts: list[str], n_workers: int, hmm: bool, keep_punctuation: bool
) -> list[list[str]]:
    # forkserver, not fork: a fork of a process that runs threads (torch's, MLflow's, a test
    # runner's) copies locks other threads hold, and a worker waited on one forever in CI
    # (2026-12-06). Each worker loads the dictionary once in its initializer (about 0.7 s).
    size = max(1, math.ceil(len(texts) / (n_workers * _CHUNKS_PER_WORKER)))
    tasks = [(texts[i : i + size], hmm, keep_punctuation) for i in range(0, len(texts), size)]
    with multiprocessing.get_context("forkserver").Pool(n_workers, initializer=_jieba) as pool:
        parts = pool.map(_segment_chunk, tasks, chunksize=1)
    return [tokens for part in parts for tokens in part]


def _segment_chunk(task: tuple[list[str], bool, bool]) -> list[list[str]]:
    texts, hmm, keep_punctuation = task
    return [tokenize_jieba(text, hmm=hmm, keep_punctuation=keep_punctuation) for text in texts]


# --- cache files --------------------------------------------------------------------------------
# Line 1: a JSON header {"format", "key", "n_docs", "jieba", "hmm", "keep_punctuation"};
# then one JSON list of tokens per document, in order.


def _read_cache(path: Path, key: str, n_docs: int) -> list[list[str]] | None:
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or header.get("key") != key:
                problem = "its header does not carry the expected key"
            else:
                documents = [json.loads(line) for line in handle]
                if len(documents) == n_docs and all(isinstance(d, list) for d in documents):
                    return documents
                problem = f"{len(documents)} entries for {n_docs} documents"
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError included
        problem = f"unreadable ({error})"
    logger.warning("jieba segmentation cache %s ignored and rebuilt: %s", path, problem)
    return None


def _write_cache(
    path: Path, key: str, tokens: list[list[str]], *, hmm: bool, keep_punctuation: bool
) -> None:
    header = {
        "format": _CACHE_FORMAT,
        "key": key,
        "n_docs": len(tokens),
        "jieba": JIEBA_VERSION,
        "hmm": hmm,
        "keep_punctuation": keep_punctuation,
    }

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(header) + "\n")
            for document in tokens:
                handle.write(json.dumps(document, ensure_ascii=False) + "\n")

    write_atomically(path, write)
