"""Which ARFF attributes are labels: Mulan's XML label file, its name matching and fallback.

A Mulan label file is ``<labels xmlns="http://mulan.sourceforge.net/labels"><label name="..."/>
...</labels>``; labels may be nested to form a hierarchy, and every ``<label>`` counts.

Matching XML label names to attributes (``position_fallback``): each XML name must equal an
attribute name. Where some do not (the Delicious XML writes ``TTAG_m\\'usica`` for the attribute
``TAG_m\\'usica``), the position fallback maps them only when the mapping is unambiguous:

1. more XML names match exactly than do not;
2. the exactly matched label attributes stand in the XML's order as one contiguous block with
   gaps exactly where the unmatched XML names are, i.e. ``attribute_index - xml_index`` is the
   same for every exact match; this fixes the block's start ``s``;
3. each unmatched XML name at XML position ``k`` then maps to attribute ``s + k``, which must
   exist (and, being inside the block, is not claimed by any other XML name);
4. an unmatched name before the first (after the last) exact match is mapped only when the
   block then starts at the first (ends at the last) attribute, as Mulan's labels-first and
   labels-last layouts do: elsewhere the attribute beside the block may well be a feature.

Each mapping is logged as a WARNING naming both names. Otherwise (or with
``position_fallback=False``) a :class:`CorruptRawFileError` names the XML file, the unmatched
labels with their XML lines and near-miss attribute names, and why the fallback did not apply.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

import numpy as np

from longtail_mltc.corpora.arff import ArffTable
from longtail_mltc.corpora.arff_rows import arff_error
from longtail_mltc.corpora.errors import CorruptRawFileError

__all__ = ["XmlLabel", "check_attribute_roles", "read_label_xml", "resolve_labels"]

logger = logging.getLogger(__name__)

_MULAN_XML = (
    '<labels xmlns="http://mulan.sourceforge.net/labels"><label name="..."></label>...</labels>'
)


@dataclass(frozen=True)
class XmlLabel:
    name: str
    line: int


def read_label_xml(path: Path) -> list[XmlLabel]:
    """Every ``<label name=...>`` of a Mulan label file, nested ones included, in order."""
    data = path.read_bytes()
    if not data.strip():
        raise CorruptRawFileError(
            f"{path}: the file is empty; expected a Mulan label file {_MULAN_XML}"
        )
    parser = expat.ParserCreate(namespace_separator=" ")
    labels: list[XmlLabel] = []
    roots: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        line = parser.CurrentLineNumber
        if not roots:
            roots.append(local)
            if local != "labels":
                raise arff_error(path, line, f"root element <{local}>; expected {_MULAN_XML}")
            return
        if local != "label":
            return
        if "name" not in attributes:
            raise arff_error(
                path, line, "<label> without a name attribute; expected <label name=...>"
            )
        labels.append(XmlLabel(attributes["name"], line))

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise CorruptRawFileError(
            f"{path}: line {error.lineno}, column {error.offset + 1}: not well-formed XML "
            f"({expat.ErrorString(error.code)}); expected a Mulan label file {_MULAN_XML}"
        ) from None
    if not labels:
        raise CorruptRawFileError(f"{path}: no <label name=...> elements; expected {_MULAN_XML}")
    first_line: dict[str, int] = {}
    for label in labels:
        if label.name in first_line:
            raise arff_error(
                path,
                label.line,
                f"label {label.name!r} is listed twice (first on line {first_line[label.name]})",
            )
        first_line[label.name] = label.line
    return labels


def resolve_labels(
    xml_labels: list[XmlLabel], table: ArffTable, xml_path: Path, position_fallback: bool
) -> np.ndarray:
    """The attribute index of each XML label, by name, else by the position fallback."""
    index_of = {attribute.name: index for index, attribute in enumerate(table.attributes)}
    matched = [index_of.get(label.name) for label in xml_labels]
    unmatched = [k for k, index in enumerate(matched) if index is None]
    if not unmatched:
        return np.array(matched, dtype=np.int64)
    reason = (
        _fallback_problem(matched, unmatched, len(table.attributes))
        if position_fallback
        else "the position fallback is disabled (position_fallback=False)"
    )
    if reason is not None:
        raise _unmatched_error(xml_labels, unmatched, table, xml_path, reason)
    start = next(index - k for k, index in enumerate(matched) if index is not None)
    for k in unmatched:
        attribute = table.attributes[start + k]
        logger.warning(
            "%s: label %r (line %d, label %d of %d) matches no attribute of %s; mapped by "
            "position to attribute %d %r",
            xml_path,
            xml_labels[k].name,
            xml_labels[k].line,
            k,
            len(xml_labels),
            table.path,
            start + k,
            attribute.name,
        )
    return np.arange(start, start + len(xml_labels), dtype=np.int64)


def _fallback_problem(
    matched: Sequence[int | None], unmatched: Sequence[int], n_attributes: int
) -> str | None:
    """Why the position fallback cannot map the unmatched labels, or None when it can."""
    n_exact = len(matched) - len(unmatched)
    if n_exact <= len(unmatched):
        return (
            f"only {n_exact} of the {len(matched)} XML labels match an attribute exactly; the "
            "position fallback needs a majority of exact matches"
        )
    offsets = {index - k for k, index in enumerate(matched) if index is not None}
    if len(offsets) != 1:
        return (
            "the exactly matching label attributes do not form one contiguous block in the "
            "XML's order, so positions cannot identify the others"
        )
    start = offsets.pop()
    last = start + len(matched) - 1
    if start < 0 or last >= n_attributes:
        return (
            f"the label block would span attributes {start}..{last}, outside the "
            f"{n_attributes} attributes"
        )
    exact = [k for k, index in enumerate(matched) if index is not None]
    before_first = any(k < exact[0] for k in unmatched) and start != 0
    after_last = any(k > exact[-1] for k in unmatched) and last != n_attributes - 1
    if before_first or after_last:
        return (
            "an unmatched label lies at the edge of the label block (attributes "
            f"{start}..{last}), where the neighbouring attribute may be a feature; edges are "
            "mapped only where the block starts at the first or ends at the last attribute"
        )
    return None


def _unmatched_error(
    xml_labels: list[XmlLabel],
    unmatched: list[int],
    table: ArffTable,
    xml_path: Path,
    reason: str,
) -> CorruptRawFileError:
    names = [attribute.name for attribute in table.attributes]
    described = []
    for k in unmatched[:5]:
        label = xml_labels[k]
        close = difflib.get_close_matches(label.name, names, n=3)
        similar = f" (similar attributes: {', '.join(map(repr, close))})" if close else ""
        described.append(f"{label.name!r} on line {label.line}{similar}")
    more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
    return CorruptRawFileError(
        f"{xml_path}: {len(unmatched)} of the {len(xml_labels)} labels match no attribute of "
        f"{table.path}: {'; '.join(described)}{more}. Expected every label name to be an "
        f"attribute name; not mapped by position because {reason}"
    )


def check_attribute_roles(table: ArffTable, label_columns: np.ndarray) -> None:
    """Label attributes are declared {0,1}; feature names can be joined by spaces."""
    is_label = np.zeros(len(table.attributes), dtype=bool)
    is_label[label_columns] = True
    for index in label_columns.tolist():
        attribute = table.attributes[index]
        if attribute.nominal_values != ("0", "1"):
            raise arff_error(
                table.path,
                attribute.line,
                f"label attribute {attribute.name!r} is declared {attribute.kind}; Mulan label "
                "attributes must be declared {0,1}",
            )
    if is_label.all():
        raise CorruptRawFileError(
            f"{table.path}: every attribute is a label; a Mulan corpus needs feature attributes"
        )
    for index in np.flatnonzero(~is_label).tolist():
        attribute = table.attributes[index]
        if not attribute.name or any(char.isspace() for char in attribute.name):
            raise arff_error(
                table.path,
                attribute.line,
                f"feature attribute {attribute.name!r} is empty or holds whitespace; the "
                "document text joins feature names with spaces, so names must be single words",
            )
