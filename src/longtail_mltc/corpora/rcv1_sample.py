"""The RCV1-v2 sample: ``neuralclassifier_rcv1_dev.json``, 2,316 documents, no ids, no split.

METHODS 3.1 (RCV1-v2); DESIGN "The canonical Corpus". Split out of
:mod:`longtail_mltc.corpora.rcv1`, which re-exports every public name here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.errors import CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.rcv1_hierarchy import RCV1_EXPECTED_TEXT, resolve_plain_or_gz
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import corpus_frame, validate_corpus
from longtail_mltc.corpora.splits import seeded_test_mask
from longtail_mltc.corpora.validation import check_texts, json_record

__all__ = [
    "RCV1_SAMPLE",
    "RCV1_SAMPLE_DOWNLOAD_NOTE",
    "RCV1_SAMPLE_FILE",
    "read_rcv1_sample",
    "sample_doc_id",
]

# One logger name for all RCV1 modules, as documented (``longtail_mltc.corpora.rcv1``).
logger = logging.getLogger("longtail_mltc.corpora.rcv1")

RCV1_SAMPLE_FILE = "neuralclassifier_rcv1_dev.json"


def sample_doc_id(text: str, labels: list[str]) -> str:
    """``"sample-"`` + 16 hex digits of BLAKE2b over the row's text and labels.

    The sample has no ids; an id derived from the row itself (not from its line) lets the
    seeded split depend on the set of documents only, never on their order in the file.
    """
    canonical = json.dumps([text, labels], ensure_ascii=True, separators=(",", ":"))
    return "sample-" + hashlib.blake2b(canonical.encode("ascii"), digest_size=8).hexdigest()


def read_rcv1_sample(
    raw_dir: Path | str, *, test_fraction: float = 0.2, seed: int = 0
) -> pd.DataFrame:
    """Read the RCV1-v2 sample (``neuralclassifier_rcv1_dev.json``) into the Corpus table.

    One JSON object per line with ``doc_label`` and ``doc_token`` lists of str (other keys are
    ignored). ``text`` is the tokens joined by single spaces; ``labels`` the topics in file
    order without repeats; ``lang`` "en". The sample carries no ids, so ``doc_id`` is
    :func:`sample_doc_id` of the row's text and labels (a record repeating an earlier one gets
    ``-2``, ``-3``, ... appended; they are kept and counted in the log). No released split:
    :func:`~longtail_mltc.corpora.splits.seeded_test_mask` draws ``test_fraction`` of the
    documents (half up, at least 1) over the sorted ids as test, so the split does not depend on
    the order of the lines (defaults: 80/20, seed 0: 1,853 train / 463 test).

    Measured on the mirror's file: 2,316 documents (9 repeat an earlier record: 8 records
    twice, 1 three times), 98 topics present, 3.20 labels and 135.3 tokens per document; none
    skipped. Documents without labels or tokens would be skipped and counted in the log; a
    malformed line raises :class:`CorruptRawFileError` naming file and line.
    """
    raw_dir = Path(raw_dir)
    path = resolve_plain_or_gz(raw_dir, RCV1_SAMPLE_FILE)
    if path is None:
        raise RawDataNotFoundError(
            f"RCV1-v2 sample folder {raw_dir} lacks {RCV1_SAMPLE_FILE} (the mirror's "
            "rcv1v2_sample/ holds it)"
        )
    doc_ids: list[str] = []
    texts: list[str] = []
    labels: list[list[str]] = []
    skipped: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    records = 0
    for number, line in lines.utf8_lines(path, expected=RCV1_EXPECTED_TEXT):
        if not line.strip():
            continue
        records += 1
        doc_labels, tokens = _sample_record(path, number, line)
        if not doc_labels:
            skipped["no labels"] += 1
        elif not tokens:
            skipped["no tokens"] += 1
        else:
            texts.append(" ".join(tokens))
            labels.append(list(dict.fromkeys(doc_labels)))
            doc_id = sample_doc_id(texts[-1], labels[-1])
            seen[doc_id] += 1
            doc_ids.append(doc_id if seen[doc_id] == 1 else f"{doc_id}-{seen[doc_id]}")
    if records == 0:
        raise CorruptRawFileError(
            f"{path}: no records; expected JSON lines with 'doc_label' and 'doc_token' lists"
        )
    is_test = seeded_test_mask(doc_ids, test_fraction, seed, where=str(path))
    splits = ["test" if flag else "train" for flag in is_test]
    repeats = sum(count - 1 for count in seen.values())
    logger.info(
        "RCV1 sample %s: %d records (%d repeat an earlier record, kept); skipped %s; kept %d "
        "train / %d test (test_fraction %s, seed %s)",
        path,
        records,
        repeats,
        ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items())) or "none",
        splits.count("train"),
        splits.count("test"),
        test_fraction,
        seed,
    )
    frame = corpus_frame(doc_ids, texts, labels, splits, "en")
    return record_skips(
        validate_corpus(frame, f"corpus 'rcv1_sample' from {raw_dir}"), dict(skipped)
    )


def _sample_record(path: Path, number: int, line: str) -> tuple[list[str], list[str]]:
    record = json_record(path, number, line, "one object per line with 'doc_label' and 'doc_token'")
    values = []
    for key in ("doc_label", "doc_token"):
        value = record.get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            found = f"a {type(value).__name__}" if key in record else "missing"
            if isinstance(value, list):
                found = "a list holding non-str items"
            raise CorruptRawFileError(
                f"{path}: line {number}: {key!r} is {found}; expected a list of str"
            )
        check_texts(value, f"{path}: line {number}", key)
        values.append(value)
    return values[0], values[1]


RCV1_SAMPLE_DOWNLOAD_NOTE = (
    "the sample is data/rcv1_dev.json of github.com/Tencent/NeuralNLP-NeuralClassifier "
    "(commit 3d4ddffa6304da32c25f74001c0c056922c4ba22), saved as neuralclassifier_rcv1_dev.json; "
    "the offline mirror's rcv1v2_sample/ holds it."
)

RCV1_SAMPLE = CorpusSource(
    name="rcv1_sample",
    reader=read_rcv1_sample,
    expected_files=(RCV1_SAMPLE_FILE,),
    mirror_folder="rcv1v2_sample",
    download=None,  # a single JSON file from a GitHub repository, not a released archive
    download_note=RCV1_SAMPLE_DOWNLOAD_NOTE,
)
