"""Mulan and MEKA multi-label datasets (ARFF files) -> the canonical Corpus table.

Registered as corpus ``delicious``; any other Mulan or MEKA dataset is declared in YAML
(``format: arff`` under ``user_corpora``, :mod:`~longtail_mltc.corpora.user`), which reads
through :func:`read_arff_corpus`. A dataset is one ARFF file (a seeded ``test_fraction`` held
out) or one per split; labels are chosen by a Mulan XML label file, MEKA's ``-C n``, or
``label_count`` / ``label_position``, in that order. A document's ``text`` is the names of its
present features joined by one space, its ``labels`` the present label attributes, its
``doc_id`` ``"<split>-<row>"`` (or ``"<corpus>-<row>"`` for one file).

Declaration, label selection and ids: docs/corpora.md#your-own-corpus; names, errors and
the draw of one file's test rows: docs/corpora.md#how-arff-files-are-read.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from longtail_mltc.config_errors import configuration_error
from longtail_mltc.corpora.arff import ArffTable, check_same_attributes, meka_label_count, read_arff
from longtail_mltc.corpora.errors import RawDataNotFoundError
from longtail_mltc.corpora.mulan_labels import (
    check_attribute_roles,
    read_label_xml,
    resolve_labels,
)
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.schema import CORPUS_COLUMNS, CORPUS_SPLITS, validate_corpus
from longtail_mltc.corpora.splits import seeded_test_mask

__all__ = [
    "DELICIOUS",
    "DELICIOUS_DOWNLOAD_NOTE",
    "DELICIOUS_FILES",
    "DELICIOUS_SHA256",
    "DELICIOUS_URL",
    "read_arff_corpus",
    "read_delicious",
    "read_mulan",
]

logger = logging.getLogger(__name__)

DELICIOUS_FILES: tuple[str, ...] = (
    "delicious-train.arff",
    "delicious-test.arff",
    "delicious.xml",
)

# sha256 of the Mulan distribution's files (computed from the offline mirror, whose provenance,
# CRC32-verified against the Mulan archive, is documented in ../shared/datasets/delicious/).
DELICIOUS_SHA256: dict[str, str] = {
    "delicious-train.arff": "030186cdb542ebdd32052fcdbb1ebe30115b3a22518c1b4b198c45eb827aebe1",
    "delicious-test.arff": "2dfb01723a819914b0ca83361177ed413ce3f2169851d9f228d4692915d63944",
    "delicious.xml": "895a02309299386dac2a0dd6cd02c344e36ecd5e6c0067af37fdb400d29cd195",
}

# The Mulan project distributes Delicious only as a RAR archive. acquisition.py extracts tar
# and zip archives with the standard library and the standard library cannot read RAR, so no
# DownloadSpec is registered (download=None): the files must be placed by hand, and the
# "not found" errors (the reader's, and load_corpus's through download_note) say where to get them.
DELICIOUS_URL = "http://sourceforge.net/projects/mulan/files/datasets/delicious.rar"

DELICIOUS_DOWNLOAD_NOTE = (
    f"the Mulan project publishes them in the RAR archive {DELICIOUS_URL} (extract "
    f"{', '.join(DELICIOUS_FILES)} from it by hand; RAR cannot be extracted with the Python "
    "standard library, so the corpus has no automatic download)"
)

_DOC_ID_DIGITS = 6


def read_delicious(raw_dir: Path | str) -> pd.DataFrame:
    """Read the Mulan Delicious files in ``raw_dir`` (``DELICIOUS_FILES``) into a Corpus table.

    Result on the Mulan files: 12,920 train / 3,185 test documents, 983 labels (all present in
    train, the rarest in 18 train documents), 19.0 labels per document, 14 documents without
    labels. One label name is resolved by the position fallback (mulan_labels): the XML's
    ``TTAG_m\\'usica`` is the attribute ``TAG_m\\'usica``.
    """
    return read_arff_corpus(
        raw_dir,
        {"train": DELICIOUS_FILES[0], "test": DELICIOUS_FILES[1]},
        label_file=DELICIOUS_FILES[2],
        corpus_name="delicious",
        missing_hint=DELICIOUS_DOWNLOAD_NOTE,
    )


def read_mulan(
    raw_dir: Path | str,
    *,
    train_file: str,
    test_file: str,
    xml_file: str,
    lang: str = "en",
    corpus_name: str = "mulan",
    position_fallback: bool = True,
) -> pd.DataFrame:
    """Read any Mulan dataset (train ARFF, test ARFF, XML label file) into a Corpus table.

    File names are relative to ``raw_dir``. ``corpus_name`` names the corpus in log and error
    messages; ``position_fallback`` allows the positional matching of XML label names that
    match no attribute (mulan_labels). Rules, errors and logging: see the module doc.
    """
    return read_arff_corpus(
        raw_dir,
        {"train": train_file, "test": test_file},
        label_file=xml_file,
        lang=lang,
        corpus_name=corpus_name,
        position_fallback=position_fallback,
    )


def read_arff_corpus(
    raw_dir: Path | str,
    files: str | Mapping[str, str],
    *,
    label_file: str | None = None,
    label_count: int | None = None,
    label_position: Literal["first", "last"] = "last",
    test_fraction: float | None = None,
    seed: int = 0,
    lang: str = "en",
    corpus_name: str = "mulan",
    position_fallback: bool = True,
    config_key: str | None = None,
    missing_hint: str | None = None,
) -> pd.DataFrame:
    """Read a Mulan / MEKA dataset from ``raw_dir`` into a Corpus table (module doc).

    ``files``: one ARFF file (``test_fraction`` and ``seed`` then draw the test rows) or a
    mapping of split (``train``, ``valid``, ``test``) to file. ``config_key`` (e.g.
    ``user_corpora.bibtex``) prefixes the keys a configuration error names.
    """
    raw_dir = Path(raw_dir)
    parts = dict(files) if isinstance(files, Mapping) else {"": str(files)}
    names = [*parts.values(), *([label_file] if label_file is not None else [])]
    missing = [name for name in names if not (raw_dir / name).is_file()]
    if missing:
        hint = f"; {missing_hint}" if missing_hint else ""
        raise RawDataNotFoundError(
            f"Mulan corpus {corpus_name!r}: folder {raw_dir} lacks {len(missing)} of the "
            f"{len(names)} files {', '.join(names)}: {', '.join(missing)}{hint}"
        )
    xml_labels = None if label_file is None else read_label_xml(raw_dir / label_file)
    order = sorted(parts, key=lambda split: CORPUS_SPLITS.index(split) if split else 0)
    tables = {split: read_arff(raw_dir / parts[split]) for split in order}
    check_same_attributes(list(tables.values()))
    first = tables[order[0]]
    if xml_labels is not None:
        assert label_file is not None
        label_columns = resolve_labels(xml_labels, first, raw_dir / label_file, position_fallback)
        _ignored_count(label_count, f"the label file {label_file}")
    else:
        label_columns = _counted_labels(first, label_count, label_position, config_key)
    check_attribute_roles(first, label_columns)
    is_label = np.zeros(len(first.attributes), dtype=bool)
    is_label[label_columns] = True
    if "" not in tables and test_fraction is not None:
        raise configuration_error(
            _key(config_key, "test_fraction"),
            "no test_fraction where files names a test file",
            test_fraction,
        )
    if "" in tables:
        if test_fraction is None:
            raise configuration_error(
                _key(config_key, "test_fraction"),
                "a fraction in (0, 1) of the one file's rows to hold out as test",
            )
        corpus = _single_file_frame(first, is_label, corpus_name, test_fraction, seed)
    else:
        corpus = pd.concat(
            [_split_frame(table, split, is_label) for split, table in tables.items()],
            ignore_index=True,
        )
    for split in order:
        _log_missing(tables[split], is_label)
    _log_splits(corpus, corpus_name)
    corpus["lang"] = lang
    logger.info(
        "Mulan corpus %r: %d label attributes, %d feature attributes; no rows skipped",
        corpus_name,
        int(is_label.sum()),
        int((~is_label).sum()),
    )
    return validate_corpus(
        corpus.loc[:, list(CORPUS_COLUMNS)], f"corpus {corpus_name!r} from {raw_dir}"
    )


def _counted_labels(
    table: ArffTable,
    label_count: int | None,
    label_position: str,
    config_key: str | None,
) -> np.ndarray:
    """Label columns from MEKA's ``-C n``, else from ``label_count`` / ``label_position``."""
    count = meka_label_count(table)
    n_attributes = len(table.attributes)
    if count is not None:
        logger.info(
            "%s: labels from the MEKA option '-C %d' on line %d",
            table.path,
            count,
            table.relation_line,
        )
        _ignored_count(label_count, f"MEKA's '-C {count}' on line {table.relation_line}")
    elif label_count is not None:
        if not 1 <= label_count < n_attributes:
            raise configuration_error(
                _key(config_key, "label_count"),
                f"a count from 1 to {n_attributes - 1} (the file {table.path} declares "
                f"{n_attributes} attributes and needs a feature)",
                label_count,
            )
        count = label_count if label_position == "first" else -label_count
    else:
        raise configuration_error(
            _key(config_key, "label_file"),
            "the Mulan label XML file naming the label attributes; it may be left out only "
            f"where the @relation line has MEKA's '-C n' ({table.path} has none: "
            f"{table.relation!r}) or with label_count and label_position (first|last)",
        )
    if count > 0:
        return np.arange(count, dtype=np.int64)
    return np.arange(n_attributes + count, n_attributes, dtype=np.int64)


def _ignored_count(label_count: int | None, source: str) -> None:
    if label_count is not None:
        logger.warning(
            "label_count %d is not used: the label attributes come from %s", label_count, source
        )


def _key(config_key: str | None, key: str) -> str:
    return f"{config_key}.{key}" if config_key else key


# --- Corpus table -------------------------------------------------------------------------------


def _split_frame(table: ArffTable, split: str, is_label: np.ndarray) -> pd.DataFrame:
    texts, labels = _rows_as_text_and_labels(table, is_label)
    return _frame(_doc_ids(split, table.n_rows), texts, labels, [split] * table.n_rows)


def _single_file_frame(
    table: ArffTable, is_label: np.ndarray, corpus_name: str, test_fraction: float, seed: int
) -> pd.DataFrame:
    texts, labels = _rows_as_text_and_labels(table, is_label)
    is_test = seeded_test_mask(_content_keys(table), test_fraction, seed, where=str(table.path))
    split = np.where(is_test, "test", "train").tolist()
    return _frame(_doc_ids(corpus_name, table.n_rows), texts, labels, split)


def _doc_ids(prefix: str, n_rows: int) -> list[str]:
    width = max(_DOC_ID_DIGITS, len(str(n_rows)))
    return [f"{prefix}-{row:0{width}d}" for row in range(1, n_rows + 1)]


def _frame(
    doc_ids: list[str], texts: list[str], labels: list[list[str]], split: list[str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": pd.Series(doc_ids, dtype="str"),
            "text": pd.Series(texts, dtype="str"),
            "labels": pd.Series(labels, dtype="object"),
            "split": pd.Series(split, dtype="str"),
        }
    )


def _content_keys(table: ArffTable) -> list[str]:
    """Per row, its present attribute indices, identical rows numbered in turn: an identifier
    that depends on what the row holds and not where it stands (identical rows are the same
    document, so which of them is which does not matter)."""
    bounds, indices = table.rows.indptr.tolist(), table.rows.indices
    seen: Counter[str] = Counter()
    keys = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        content = ",".join(map(str, indices[start:end].tolist()))
        seen[content] += 1
        keys.append(f"{content}#{seen[content]}")
    return keys


def _rows_as_text_and_labels(
    table: ArffTable, is_label: np.ndarray
) -> tuple[list[str], list[list[str]]]:
    """Per row: present feature names joined by spaces, and present label names."""
    names = np.array([attribute.name for attribute in table.attributes], dtype=object)
    indptr, indices = table.rows.indptr, table.rows.indices
    row_of = np.repeat(np.arange(table.n_rows), np.diff(indptr))
    label_item = is_label[indices]
    texts: list[str] = []
    labels: list[list[str]] = []
    for mask, out, join in ((~label_item, texts, True), (label_item, labels, False)):
        selected: list[str] = names[indices[mask]].tolist()
        bounds = np.concatenate(
            [[0], np.cumsum(np.bincount(row_of[mask], minlength=table.n_rows))]
        ).tolist()
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            piece = selected[start:end]
            out.append(" ".join(piece) if join else piece)
    return texts, labels


def _log_splits(corpus: pd.DataFrame, corpus_name: str) -> None:
    for split in CORPUS_SPLITS:
        part = corpus[corpus["split"] == split]
        if part.empty:
            continue
        sizes = part["labels"].map(len)
        logger.info(
            "Mulan corpus %r %s: %d documents, %.2f labels per document; kept %d documents "
            "without labels and %d without words",
            corpus_name,
            split,
            len(part),
            sizes.mean(),
            int((sizes == 0).sum()),
            int((part["text"] == "").sum()),
        )


def _log_missing(table: ArffTable, is_label: np.ndarray) -> None:
    missing = table.rows.missing_per_attribute
    missing_labels, missing_features = int(missing[is_label].sum()), int(missing[~is_label].sum())
    if missing_labels or missing_features:
        logger.warning(
            "%s: %d missing ('?') feature values read as absent and %d missing label values "
            "read as not assigned",
            table.path,
            missing_features,
            missing_labels,
        )


DELICIOUS = CorpusSource(
    name="delicious",
    reader=read_delicious,
    expected_files=DELICIOUS_FILES,
    mirror_folder="delicious",
    download=None,  # Mulan ships a RAR archive only: see DELICIOUS_URL above
    download_note=DELICIOUS_DOWNLOAD_NOTE,
)
