"""Reader for Reuters-21578, Distribution 1.0 (SGML) -> the ApteMod Corpus table.

METHODS 3.1 ("Reuters-21578, ApteMod split ... 90 labels"); DESIGN "The canonical Corpus".
"""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from longtail_mltc.corpora.acquisition import DownloadSpec
from longtail_mltc.corpora.errors import CorruptRawFileError, RawDataNotFoundError
from longtail_mltc.corpora.registry import CorpusSource
from longtail_mltc.corpora.report import record_skips
from longtail_mltc.corpora.schema import corpus_frame, validate_corpus

__all__ = [
    "REUTERS",
    "REUTERS_DOWNLOAD",
    "REUTERS_FILES",
    "REUTERS_SHA256",
    "REUTERS_URL",
    "read_reuters21578",
]

logger = logging.getLogger(__name__)

REUTERS_FILES: tuple[str, ...] = tuple(f"reut2-{i:03d}.sgm" for i in range(22))

# sha256 of the original distribution's files (computed from the offline mirror, whose
# provenance is documented in ../shared/datasets/reuters21578/SOURCES.txt).
REUTERS_SHA256: dict[str, str] = {
    "reut2-000.sgm": "9ff9bb40624ef992a03f62aace12e697dca1087abfd9b4d06aa787a6ad3e0687",
    "reut2-001.sgm": "1528e7e82d110d88d0234eb9619eadb7f9fd805711971df05975b92277dfdf4d",
    "reut2-002.sgm": "99f18068d0518952987dedd78c622e5c2a584e357d264d3754696c815f3e6628",
    "reut2-003.sgm": "78a3a8d7e04bc9d42c4614d5d5c60a4293dbe3f708df6fb5a71d9ef31f4b3fa3",
    "reut2-004.sgm": "726342c19a65873330b412378cd6a3f0d512035f5223146ddd60930c62eb6ff0",
    "reut2-005.sgm": "d09de619b6dd2d047d5124681f6df90550abaf592020d1c1ce338ae9b91522e7",
    "reut2-006.sgm": "b5535c0d66b01f4976f84621a4a795afbc00d2c4bd0a1b7ae426df6630fb361d",
    "reut2-007.sgm": "aa706007ec84a03537a3921ca976d60e11b3f99e4b9e9b2d5c81dd384d2c2062",
    "reut2-008.sgm": "a3994583694a00b7c744097c1d7eabfcf90f2e6650cc21663e46828035a336cb",
    "reut2-009.sgm": "29995f606dd1a9bdf907eacc9d879846c716860d9d9141676979474aaea39c7d",
    "reut2-010.sgm": "996df6008089bd09fa5b28a4d2eb0ee5f7b9d4601cde566fed3926ac82960fa3",
    "reut2-011.sgm": "d3a2782015247d9c2bffb8926267827fdd449c70d619435ef01a25a1c56a53ca",
    "reut2-012.sgm": "da31035d483851f2aebce5b66d779e5e2c0ac9dcfe098596c6d544e81c5604ab",
    "reut2-013.sgm": "8f7700bc0455fac3fcc12377ced4807b7df8aba1f21ecad059b9cc2b1cf0b8be",
    "reut2-014.sgm": "ef936bd3e0f36cf722afa9a6957563549775af32e9e28b4f539c8737ceda83ab",
    "reut2-015.sgm": "6d3bcec73eff871b8a5403588af814c4e50a0de6bc25707480522ab836f74026",
    "reut2-016.sgm": "be2f03a185fff70131f3b4fdbd6229b7ee2be077eba9691eaa597c8cfbda8812",
    "reut2-017.sgm": "f370e610b4b1342e41a98e0c426a08541044bd1d7e539674f32372a6060b73b5",
    "reut2-018.sgm": "a5f971bf25448e915781962309e669359a35fbcaf3017a806eca0590897f209a",
    "reut2-019.sgm": "d3b07097fba2633d130b4914aceba671645985248943ce9e39c289315339dffb",
    "reut2-020.sgm": "f6ad1b724125c202566c63b35ea0b5ee23881f8b7ed47a32829d5af05d8e860d",
    "reut2-021.sgm": "3f5196d32869723c9042aa5756805b4e90360f1f45ea17f4594fa0e2b3630b18",
}

REUTERS_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/reuters21578-mld/reuters21578.tar.gz"
)
REUTERS_DOWNLOAD = DownloadSpec(REUTERS_URL, archive_sha256=None, member_sha256=REUTERS_SHA256)

_REQUIRED_ATTRIBUTES = ("NEWID", "LEWISSPLIT", "TOPICS")
_TOPICS_VALUES = frozenset({"YES", "NO", "BYPASS"})
_LEWISSPLIT_VALUES = frozenset({"TRAIN", "TEST", "NOT-USED"})
_APTEMOD_SPLITS = {"TRAIN": "train", "TEST": "test"}
_DOCTYPE = '<!DOCTYPE lewis SYSTEM "lewis.dtd">'

# The files are SGML, not XML, so an XML parser cannot read them: each file is a DOCTYPE and
# 1,000 sibling <REUTERS> elements with no root element, bodies carry character references to
# control characters (&#2;, &#3;, &#5;...) that XML 1.0 forbids, and the text is latin-1 bytes
# without an XML declaration. The structure used here is simple and documented (README.txt
# section VI: <REUTERS ...> and </REUTERS> each alone on their line; TOPICS once per story,
# on one line, as <D>...</D> items), so a few anchored regular expressions parse it exactly and
# let every structural problem be reported with its file and record.
_OPEN = re.compile(r"<REUTERS\b([^>]*)>")
_CLOSE = re.compile(r"</REUTERS>")
_ATTRIBUTE = re.compile(r'([A-Z]+)="([^"]*)"')
_TOPIC_ITEMS = re.compile(r"(?:<D>[^<]*</D>)*")
_TOPIC = re.compile(r"<D>([^<]*)</D>")
_TEXT_ELEMENT = re.compile(r"<TEXT\b[^>]*>(.*?)</TEXT>", re.S)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class _Record:
    """One <REUTERS> record: its attributes, TOPICS, and text for ApteMod candidates."""

    newid: str
    lewissplit: str
    topics_attribute: str
    topics: tuple[str, ...]
    text: str | None
    where: _Where | None = None  # file and record, for error messages

    @property
    def is_aptemod(self) -> bool:
        return self.lewissplit in _APTEMOD_SPLITS and self.topics_attribute == "YES"


def read_reuters21578(raw_dir: Path | str) -> pd.DataFrame:
    """Read ``reut2-000.sgm`` .. ``reut2-021.sgm`` into the ApteMod Corpus table.

    ApteMod (README.txt VIII.B plus the usual 90-category restriction): records with
    LEWISSPLIT in {TRAIN, TEST} and TOPICS="YES"; the categories kept are those occurring in
    >=1 train and >=1 test document among them (90); documents keep their kept categories and
    are dropped when none is left. ``text`` is TITLE + "\\n" + BODY with HTML entities unescaped
    (title only for the 926 briefs without BODY; for the 61 TYPE="UNPROC" stories with neither,
    the whole TEXT element); ``doc_id`` is NEWID; ``lang`` is "en".

    Result on the original files: 90 labels, 7,770 train and 3,019 test documents, 1.235 labels
    per document. The published ApteMod (Lewis/Williams distribution, NLTK's ``reuters``) has
    7,769 train documents. Its document list is not available offline, so which training
    document it lacks could not be determined; the ten largest categories' train/test counts
    here (earn 2877/1087, acq 1650/719, ... corn 181/56) equal the commonly published ones, so
    the extra document carries only smaller categories. The rule above is the one README.txt
    and the mirror's SOURCES.txt state, and it yields 7,770.

    Every skipped record is counted in the log (logger ``longtail_mltc.corpora.reuters``).
    Structural problems raise :class:`CorruptRawFileError` naming file, record (1-based within
    its file) and NEWID, before anything is returned; a missing file raises
    :class:`RawDataNotFoundError`.
    """
    raw_dir = Path(raw_dir)
    _require_files(raw_dir)
    records = [record for name in REUTERS_FILES for record in _parse_file(raw_dir / name)]
    _check_unique_newids(records)
    corpus = _aptemod_corpus(records)
    return validate_corpus(corpus, f"corpus 'reuters' from {raw_dir}")


def _require_files(raw_dir: Path) -> None:
    missing = [name for name in REUTERS_FILES if not (raw_dir / name).is_file()]
    if missing:
        raise RawDataNotFoundError(
            f"Reuters-21578 folder {raw_dir} lacks {len(missing)} of the {len(REUTERS_FILES)} "
            f"files reut2-000.sgm..reut2-021.sgm: {', '.join(missing)}"
        )


# --- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """A record's position, for error messages: file, 1-based record number, open tag."""

    path: Path
    text: str
    number: int
    open_tag: re.Match[str]

    def error(self, problem: str) -> CorruptRawFileError:
        newid = dict(_ATTRIBUTE.findall(self.open_tag.group(1))).get("NEWID", "unknown")
        line = _line(self.text, self.open_tag.start())
        return CorruptRawFileError(
            f"{self.path}: record {self.number} (NEWID {newid}, line {line}): {problem}"
        )

    def origin(self) -> str:
        return f"{self.path}: record {self.number} (line {_line(self.text, self.open_tag.start())})"


def _parse_file(path: Path) -> list[_Record]:
    """All records of one file; raises on any structural problem."""
    text = path.read_bytes().decode("latin-1")  # one 0xFC byte in reut2-017 (SOURCES.txt)
    opens = list(_OPEN.finditer(text))
    closes = [match.start() for match in _CLOSE.finditer(text)]
    if not opens and not closes:
        raise CorruptRawFileError(
            f"{path}: no <REUTERS ...> records found ({len(text)} characters); expected a "
            "Reuters-21578 SGML file of <REUTERS> ... </REUTERS> records"
        )
    _check_record_boundaries(path, text, opens, closes)
    return [
        _parse_record(_Where(path, text, number, match), text[match.end() : closes[number - 1]])
        for number, match in enumerate(opens, start=1)
    ]


def _check_record_boundaries(
    path: Path, text: str, opens: list[re.Match[str]], closes: list[int]
) -> None:
    """Each open tag is followed by its own close tag before the next open tag, and only
    whitespace (and the DOCTYPE line) lies between records."""
    counts = f"the file has {len(opens)} <REUTERS> and {len(closes)} </REUTERS> tags"
    previous_end = 0
    for index, match in enumerate(opens):
        where = _Where(path, text, index + 1, match)
        is_last = index + 1 == len(opens)
        next_open = len(text) if is_last else opens[index + 1].start()
        close = closes[index] if index < len(closes) else None
        if close is None or close > next_open:
            following = "the end of the file" if is_last else "the next record"
            raise where.error(f"no </REUTERS> before {following} (truncated file?); {counts}")
        if close < match.end():
            raise where.error(f"a stray </REUTERS> precedes this record's open tag; {counts}")
        gap = text[previous_end : match.start()].strip()
        if gap and not (index == 0 and gap == _DOCTYPE):
            raise where.error(f"unexpected text before the record: {gap[:60]!r}; {counts}")
        previous_end = close + len("</REUTERS>")
    if len(closes) > len(opens):
        raise CorruptRawFileError(
            f"{path}: {len(closes) - len(opens)} </REUTERS> tag(s) without a record after "
            f"record {len(opens)} (line {_line(text, closes[len(opens)])}); {counts}"
        )
    tail = text[previous_end:].strip()
    if tail:
        raise CorruptRawFileError(
            f"{path}: unexpected text after record {len(opens)}, the last complete record: "
            f"{tail[:60]!r} (record {len(opens) + 1} truncated?); {counts}"
        )


def _parse_record(where: _Where, body: str) -> _Record:
    attributes = _attributes(where)
    topics = _topics(where, body)
    is_aptemod = attributes["LEWISSPLIT"] in _APTEMOD_SPLITS and attributes["TOPICS"] == "YES"
    document = _document_text(where, body) if is_aptemod and topics else None
    return _Record(
        attributes["NEWID"],
        attributes["LEWISSPLIT"],
        attributes["TOPICS"],
        topics,
        document,
        where,
    )


def _origin(record: _Record) -> str:
    return "an unknown record" if record.where is None else record.where.origin()


def _check_unique_newids(records: list[_Record]) -> None:
    """NEWID is the doc_id: each once, else an error naming both records (file, record, line)."""
    first: dict[str, _Record] = {}
    for record in records:
        seen = first.setdefault(record.newid, record)
        if seen is not record:
            raise CorruptRawFileError(
                f"{_origin(record)}: NEWID {record.newid} repeats the NEWID of {_origin(seen)}; "
                "expected each NEWID once (it is the doc_id)"
            )


def _attributes(where: _Where) -> dict[str, str]:
    """The <REUTERS> tag's attributes, checked for presence and values (README.txt VI.A)."""
    attributes = dict(_ATTRIBUTE.findall(where.open_tag.group(1)))
    missing = [name for name in _REQUIRED_ATTRIBUTES if name not in attributes]
    if missing:
        raise where.error(
            f"<REUTERS> tag lacks attribute(s) {', '.join(missing)}; expected TOPICS, "
            "LEWISSPLIT, CGISPLIT, OLDID and NEWID (README.txt VI.A)"
        )
    for name, allowed in (("TOPICS", _TOPICS_VALUES), ("LEWISSPLIT", _LEWISSPLIT_VALUES)):
        if attributes[name] not in allowed:
            raise where.error(f"{name}={attributes[name]!r}; expected one of {sorted(allowed)}")
    if not attributes["NEWID"].isdigit():
        raise where.error(f"NEWID={attributes['NEWID']!r}; expected a number")
    return attributes


def _topics(where: _Where, body: str) -> tuple[str, ...]:
    """The <D> items of the record's single, one-line <TOPICS> element (README.txt VI.B.3)."""
    opens, closes = body.count("<TOPICS>"), body.count("</TOPICS>")
    start, end = body.find("<TOPICS>"), body.find("</TOPICS>")
    if opens != 1 or closes != 1 or end < start:
        raise where.error(
            f"expected exactly one <TOPICS>...</TOPICS> element, found {opens} <TOPICS> and "
            f"{closes} </TOPICS> (nested or unterminated TOPICS?)"
        )
    items = body[start + len("<TOPICS>") : end]
    if not _TOPIC_ITEMS.fullmatch(items):
        raise where.error(f"TOPICS must hold only <D>category</D> items; found {items[:60]!r}")
    return tuple(_TOPIC.findall(items))


def _document_text(where: _Where, body: str) -> str:
    """TITLE + "\\n" + BODY (either may be absent), else the whole TEXT element, unescaped."""
    parts = [part for part in (_element(body, "TITLE"), _element(body, "BODY")) if part is not None]
    if not parts:
        element = _TEXT_ELEMENT.search(body)
        if element is None:
            raise where.error("no TITLE, BODY or TEXT element")
        parts = [_TAG.sub("", element.group(1))]
    return "\n".join(html.unescape(part).strip() for part in parts)


def _element(body: str, tag: str) -> str | None:
    start = body.find(f"<{tag}>")
    if start < 0:
        return None
    start += len(tag) + 2
    end = body.find(f"</{tag}>", start)
    return body[start:end] if end >= 0 else None


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


# --- ApteMod selection ------------------------------------------------------------------------


def _aptemod_corpus(records: list[_Record]) -> pd.DataFrame:
    """Select ApteMod documents and categories, log what is skipped, build the Corpus table."""
    candidates = [record for record in records if record.is_aptemod]
    kept = _categories_in_both_splits(candidates)
    rows: list[tuple[str, str, list[str], str]] = []
    skipped_no_topics = skipped_no_kept = dropped_assignments = 0
    for record in candidates:
        topics = list(dict.fromkeys(record.topics))
        labels = [topic for topic in topics if topic in kept]
        dropped_assignments += len(topics) - len(labels)
        if not topics:
            skipped_no_topics += 1
        elif not labels:
            skipped_no_kept += 1
        else:
            rows.append(
                (record.newid, record.text or "", labels, _APTEMOD_SPLITS[record.lewissplit])
            )
    _log_selection(
        records, candidates, kept, rows, skipped_no_topics, skipped_no_kept, dropped_assignments
    )
    doc_ids, texts, labels, splits = zip(*rows, strict=True) if rows else ((), (), (), ())
    return record_skips(
        corpus_frame(doc_ids, texts, labels, splits, "en"),
        {
            "not in ApteMod (LEWISSPLIT/TOPICS)": len(records) - len(candidates),
            "no TOPICS category": skipped_no_topics,
            "only categories outside the kept 90": skipped_no_kept,
        },
    )


def _categories_in_both_splits(candidates: list[_Record]) -> set[str]:
    in_split: dict[str, set[str]] = {"TRAIN": set(), "TEST": set()}
    for record in candidates:
        in_split[record.lewissplit].update(record.topics)
    return in_split["TRAIN"] & in_split["TEST"]


def _log_selection(
    records: list[_Record],
    candidates: list[_Record],
    kept: set[str],
    rows: list[tuple[str, str, list[str], str]],
    skipped_no_topics: int,
    skipped_no_kept: int,
    dropped_assignments: int,
) -> None:
    reasons = Counter(
        f"LEWISSPLIT={record.lewissplit} TOPICS={record.topics_attribute}"
        for record in records
        if not record.is_aptemod
    )
    all_categories = {topic for record in candidates for topic in record.topics}
    splits = Counter(row[3] for row in rows)
    logger.info(
        "Reuters-21578: %d records; skipped %d not in ApteMod (%s)",
        len(records),
        len(records) - len(candidates),
        ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items())),
    )
    logger.info(
        "Reuters-21578 ApteMod: %d candidates; skipped %d without any TOPICS category and %d "
        "with only categories outside the %d kept; dropped %d label assignments to the %d "
        "categories not in both train and test; kept %d train / %d test documents",
        len(candidates),
        skipped_no_topics,
        skipped_no_kept,
        len(kept),
        dropped_assignments,
        len(all_categories - kept),
        splits["train"],
        splits["test"],
    )


REUTERS = CorpusSource(
    name="reuters",
    reader=read_reuters21578,
    expected_files=REUTERS_FILES,
    mirror_folder="reuters21578",
    download=REUTERS_DOWNLOAD,
)
