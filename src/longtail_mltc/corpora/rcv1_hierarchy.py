"""The RCV1 103-topic hierarchy (label metadata, not part of the Corpus table).

METHODS 3.1 (RCV1-v2, 103 topics). Split out of :mod:`longtail_mltc.corpora.rcv1`, which
re-exports every public name here. Also holds :func:`resolve_plain_or_gz`, the file lookup every
RCV1 reader shares (the published files are ``.gz``; gunzipped copies keep the plain name).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora import lines
from longtail_mltc.corpora.errors import CorruptRawFileError, RawDataNotFoundError

__all__ = [
    "HIERARCHY_COLUMNS",
    "RCV1_EXPECTED_TEXT",
    "RCV1_HIERARCHY_FILES",
    "RCV1_HIERARCHY_URL",
    "read_rcv1_hierarchy",
    "resolve_plain_or_gz",
]

# One logger name for all RCV1 modules, as documented (``longtail_mltc.corpora.rcv1``).
logger = logging.getLogger("longtail_mltc.corpora.rcv1")

HIERARCHY_COLUMNS: tuple[str, ...] = ("topic", "parent", "description")

RCV1_HIERARCHY_FILES: tuple[str, ...] = (
    "rcv1.topics.hier.orig",  # LYRL2004 appendix 2, "parent: X child: Y child-description: ..."
    "yqsong_rcv1.topics.hier.orig",  # the mirror's (edited) copy of the same format
    "rcv1.taxonomy",  # "parent<TAB>child<TAB>child..." (NeuralClassifier)
    "neuralclassifier_rcv1.taxonomy",  # the mirror's copy of that
)
"""Hierarchy file names :func:`read_rcv1_hierarchy` looks for in a folder, in this order."""

RCV1_HIERARCHY_URL = (
    "http://jmlr.csail.mit.edu/papers/volume5/lewis04a/a02-orig-topics-hierarchy/"
    "rcv1.topics.hier.orig"
)
"""LYRL2004 online appendix 2, the original topic hierarchy."""

_ROOT = "Root"
_ORIG_LINE = re.compile(r"parent:\s*(\S+)\s+child:\s*(\S+)\s+child-description:\s*(.*)")
RCV1_EXPECTED_TEXT = (
    "ASCII/UTF-8 text as published (is this the right file, or a different encoding?)"
)
"""What every RCV1 file holds, for the line reader's non-UTF-8 error."""


def resolve_plain_or_gz(raw_dir: Path, name: str) -> Path | None:
    """``raw_dir/name``, else ``raw_dir/name.gz``; ``None`` when neither exists."""
    plain, compressed = raw_dir / name, raw_dir / f"{name}.gz"
    if plain.is_file():
        if compressed.is_file():
            logger.warning("RCV1: both %s and %s exist; reading %s", plain, compressed, plain)
        return plain
    return compressed if compressed.is_file() else None


def read_rcv1_hierarchy(path: Path | str) -> pd.DataFrame:
    """The RCV1 topic tree as a table ``topic, parent, description``, one row per topic.

    ``path`` is a hierarchy file or a folder holding one of :data:`RCV1_HIERARCHY_FILES`
    (plain or ``.gz``). Two formats, told apart by the first line: LYRL2004's
    ``rcv1.topics.hier.orig`` (``parent: X child: Y child-description: ...``) and the
    tab-separated taxonomy (``parent<TAB>child<TAB>child...``, no descriptions). The artificial
    ``Root`` node is not a row: the four top-level topics (CCAT, ECAT, GCAT, MCAT in RCV1) have
    parent ``None``. ``description`` is ``None`` when the file has none. Rows are sorted by
    topic. On the RCV1 files: 103 topics. A child listed twice, a parent that is not a topic,
    a cycle or a malformed line raise :class:`CorruptRawFileError` naming file and line.
    """
    path = _hierarchy_path(Path(path))
    edges: dict[str, tuple[str, str | None, int]] = {}  # child -> (parent, description, line)
    orig_format: bool | None = None
    for number, line in lines.utf8_lines(path, expected=RCV1_EXPECTED_TEXT):
        if not line.strip():
            continue
        if orig_format is None:
            orig_format = line.lstrip().startswith("parent:")
        for parent, child, description in _hierarchy_edges(path, number, line, orig_format):
            if child in edges:
                raise CorruptRawFileError(
                    f"{path}: line {number}: topic {child!r} already has parent "
                    f"{edges[child][0]!r} (line {edges[child][2]}); expected each topic once"
                )
            edges[child] = (parent, description, number)
    if not edges:
        raise CorruptRawFileError(f"{path}: no hierarchy lines; expected {RCV1_HIERARCHY_FILES}")
    _check_tree(path, edges)
    rows = [
        (child, None if parent == _ROOT else parent, description)
        for child, (parent, description, _) in sorted(edges.items())
        if child != _ROOT
    ]
    return pd.DataFrame(rows, columns=list(HIERARCHY_COLUMNS), dtype=object)


def _hierarchy_path(path: Path) -> Path:
    if not path.is_dir():
        if not path.is_file():
            raise RawDataNotFoundError(f"RCV1 topic hierarchy file {path} does not exist")
        return path
    for name in RCV1_HIERARCHY_FILES:
        found = resolve_plain_or_gz(path, name)
        if found is not None:
            return found
    raise RawDataNotFoundError(
        f"no RCV1 topic hierarchy in {path}; expected one of {', '.join(RCV1_HIERARCHY_FILES)} "
        f"(LYRL2004 appendix 2: {RCV1_HIERARCHY_URL})"
    )


def _hierarchy_edges(
    path: Path, number: int, line: str, orig_format: bool
) -> list[tuple[str, str, str | None]]:
    """``(parent, child, description)`` edges of one line; the orig format's ``None -> Root``
    line gives none."""
    if orig_format:
        match = _ORIG_LINE.fullmatch(line.strip())
        if match is None:
            raise CorruptRawFileError(
                f"{path}: line {number}: {line[:60]!r}; expected 'parent: <topic> child: "
                "<topic> child-description: <text>'"
            )
        parent, child, description = match.groups()
        if parent == "None" and child == _ROOT:
            return []
        return [(parent, child, description.strip() or None)]
    fields = line.strip().split("\t")
    if len(fields) < 2 or any(not item.strip() for item in fields):
        raise CorruptRawFileError(
            f"{path}: line {number}: {line[:60]!r}; expected 'parent<TAB>child<TAB>child...' "
            "with no empty field"
        )
    parent, *children = (item.strip() for item in fields)
    return [(parent, child, None) for child in children]


def _check_tree(path: Path, edges: dict[str, tuple[str, str | None, int]]) -> None:
    """Every parent is Root or a listed topic, and following parents always reaches Root."""
    for child, (parent, _, number) in edges.items():
        if parent != _ROOT and parent not in edges:
            raise CorruptRawFileError(
                f"{path}: line {number}: parent {parent!r} of {child!r} is neither {_ROOT!r} "
                "nor a topic listed as a child anywhere in the file"
            )
    for child, (_, _, number) in edges.items():
        node, steps = child, 0
        while node != _ROOT:
            node = edges[node][0]
            steps += 1
            if steps > len(edges):
                raise CorruptRawFileError(
                    f"{path}: line {number}: following the parents of {child!r} never reaches "
                    f"{_ROOT!r} (cycle); expected a tree"
                )
