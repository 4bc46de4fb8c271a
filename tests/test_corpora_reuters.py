"""Reuters-21578 reader: the real mirror's ApteMod counts, spot checks and corruption handling."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from log_capture import logged_call

from longtail_mltc.corpora import (
    CorpusError,
    CorruptRawFileError,
    RawDataNotFoundError,
    load_corpus,
    read_reuters21578,
)
from longtail_mltc.corpora.acquisition import sha256_file
from longtail_mltc.corpora.reuters import REUTERS_FILES, REUTERS_SHA256
from longtail_mltc.corpora.schema import CORPUS_COLUMNS


@pytest.fixture(scope="module")
def parsed(reuters_mirror: Path) -> tuple[pd.DataFrame, str]:
    """The real corpus, read once, and the INFO log its reading wrote."""
    return logged_call("longtail_mltc.corpora.reuters", read_reuters21578, reuters_mirror)


@pytest.fixture(scope="module")
def corpus(parsed: tuple[pd.DataFrame, str]) -> pd.DataFrame:
    return parsed[0]


def _raw_record(mirror: Path, file_name: str, newid: str) -> str:
    """The raw SGML of one record, found with plain string search (independent of the reader)."""
    raw = (mirror / file_name).read_bytes().decode("latin-1")
    start = raw.index(f'NEWID="{newid}">')
    return raw[start : raw.index("</REUTERS>", start)]


def _between(text: str, open_tag: str, close_tag: str) -> str:
    return text.split(open_tag, 1)[1].split(close_tag, 1)[0]


# --- real data ----------------------------------------------------------------------------------


def test_aptemod_counts(corpus: pd.DataFrame) -> None:
    assert list(corpus.columns) == list(CORPUS_COLUMNS)
    counts = corpus["split"].value_counts().to_dict()
    # Measured on the original files: 7,770 train (the published ApteMod lists 7,769; the
    # README rule "LEWISSPLIT=TRAIN, TOPICS=YES, >=1 of the 90 categories" gives 7,770).
    assert counts == {"train": 7770, "test": 3019}
    assert corpus["doc_id"].is_unique
    assert set(corpus["lang"]) == {"en"}


def test_every_record_is_kept_or_counted_as_skipped(
    corpus: pd.DataFrame, reuters_mirror: Path
) -> None:
    from longtail_mltc.corpora import skipped_records

    records = sum(
        (reuters_mirror / f"reut2-{i:03d}.sgm").read_bytes().count(b"<REUTERS ") for i in range(22)
    )
    skipped = skipped_records(corpus)
    assert records == 21578
    assert len(corpus) + sum(skipped.values()) == records
    assert skipped["no TOPICS category"] == 2108


def test_ninety_labels_each_in_train_and_test(corpus: pd.DataFrame) -> None:
    exploded = corpus[["labels", "split"]].explode("labels")
    per_split = exploded.groupby("labels")["split"].agg(set)
    assert len(per_split) == 90
    assert all(splits == {"train", "test"} for splits in per_split)
    assert corpus["labels"].map(len).min() >= 1
    assert not corpus["labels"].map(lambda labels: len(labels) != len(set(labels))).any()


def test_selection_matches_an_independent_count_of_the_raw_attributes(
    corpus: pd.DataFrame, reuters_mirror: Path
) -> None:
    """Every kept document has LEWISSPLIT matching its split and TOPICS="YES" in the raw tag."""
    tags: dict[str, tuple[str, str]] = {}
    for name in REUTERS_FILES:
        raw = (reuters_mirror / name).read_bytes().decode("latin-1")
        for tag in re.findall(r"<REUTERS [^>]*>", raw):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
            tags[attrs["NEWID"]] = (attrs["LEWISSPLIT"], attrs["TOPICS"])
    assert len(tags) == 21578
    observed = {(tags[d][0].lower(), tags[d][1]) for d in corpus["doc_id"]}
    expected_split = corpus["split"].map(str.upper).tolist()
    assert observed == {("train", "YES"), ("test", "YES")}
    assert [tags[d][0] for d in corpus["doc_id"]] == expected_split


def test_newid_1_matches_the_raw_file(corpus: pd.DataFrame, reuters_mirror: Path) -> None:
    record = _raw_record(reuters_mirror, "reut2-000.sgm", "1")
    title = _between(record, "<TITLE>", "</TITLE>")
    body = html.unescape(_between(record, "<BODY>", "</BODY>")).strip()
    topics = re.findall(r"<D>([^<]*)</D>", _between(record, "<TOPICS>", "</TOPICS>"))
    row = corpus.set_index("doc_id").loc["1"]
    assert title == "BAHIA COCOA REVIEW"
    assert row["text"] == f"{title}\n{body}"
    assert row["text"].startswith("BAHIA COCOA REVIEW\nShowers continued throughout the week")
    assert row["labels"] == topics == ["cocoa"]
    assert row["split"] == "train"


def test_title_only_brief_is_kept(corpus: pd.DataFrame, reuters_mirror: Path) -> None:
    raw = (reuters_mirror / "reut2-000.sgm").read_bytes().decode("latin-1")
    brief_ids = re.findall(
        r'NEWID="(\d+)">(?:(?!</REUTERS>).)*?<TEXT TYPE="BRIEF">', raw, flags=re.S
    )
    kept = corpus.set_index("doc_id")
    kept_briefs = [doc_id for doc_id in brief_ids if doc_id in kept.index]
    assert kept_briefs, "reut2-000 has ApteMod briefs"
    record = _raw_record(reuters_mirror, "reut2-000.sgm", kept_briefs[0])
    assert "<BODY>" not in record
    assert (
        kept.loc[kept_briefs[0], "text"]
        == html.unescape(_between(record, "<TITLE>", "</TITLE>")).strip()
    )


def test_unprocessed_story_uses_the_text_element(corpus: pd.DataFrame) -> None:
    # NEWID 4445 is TYPE="UNPROC": no TITLE or BODY, only raw TEXT.
    text = corpus.set_index("doc_id").loc["4445", "text"]
    assert text == "SUN RAISES CRUDE POSTINGS 50 CTS, EFFECTIVE TODAY, WTI TO 17.50\ndlrs/bbl"


def test_latin1_byte_decodes_as_u_umlaut(corpus: pd.DataFrame, reuters_mirror: Path) -> None:
    raw = (reuters_mirror / "reut2-017.sgm").read_bytes()
    assert raw.count(b"\xfc") == 1
    at = raw.index(b"\xfc")
    newid = re.findall(rb'NEWID="(\d+)"', raw[:at])[-1].decode()
    text = corpus.set_index("doc_id").loc[newid, "text"]
    assert "growth.\u00fc" in text


def test_entities_and_control_characters_are_unescaped(corpus: pd.DataFrame) -> None:
    texts = corpus["text"]
    assert not texts.str.contains("&lt;", regex=False).any()
    assert not texts.str.contains("&#", regex=False).any()
    assert texts.str.contains("<", regex=False).any()  # &lt; became <
    assert not texts.str.contains(r"[\x00-\x08\x0b-\x1f]", regex=True).any()
    assert texts.str.len().min() > 0


def test_reuters_checksums_match_the_mirror(reuters_mirror: Path) -> None:
    assert {name: sha256_file(reuters_mirror / name) for name in REUTERS_FILES} == REUTERS_SHA256


def test_skipped_documents_are_logged(parsed: tuple[pd.DataFrame, str]) -> None:
    log = parsed[1]
    assert "21578 records; skipped 8676 not in ApteMod" in log
    assert "LEWISSPLIT=TRAIN TOPICS=BYPASS: 1043" in log
    assert "12902 candidates; skipped 2108 without any TOPICS category and 5 with only" in log
    assert "dropped 66 label assignments to the 28 categories not in both" in log
    assert "kept 7770 train / 3019 test documents" in log


# --- corrupt or missing raw files --------------------------------------------------------------


def _copy_with(mirror: Path, target: Path, edits: dict[str, Callable[[bytes], bytes]]) -> Path:
    """Copy the 22 files into ``target``, applying ``edits[name]`` to the named files' bytes."""
    target.mkdir()
    for name in REUTERS_FILES:
        if name in edits:
            (target / name).write_bytes(edits[name]((mirror / name).read_bytes()))
        else:
            shutil.copyfile(mirror / name, target / name)
    return target


def _nth_open(data: bytes, number: int) -> int:
    return [m.start() for m in re.finditer(rb"<REUTERS ", data)][number - 1]


def _newid_of(data: bytes, number: int) -> str:
    at = _nth_open(data, number)
    return re.search(rb'NEWID="(\d+)"', data[at:]).group(1).decode()


def test_truncated_file_names_file_and_record(reuters_mirror: Path, tmp_path: Path) -> None:
    original = (reuters_mirror / "reut2-005.sgm").read_bytes()
    cut = _nth_open(original, 500) + 400  # inside record 500
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {"reut2-005.sgm": lambda b: b[:cut]})
    with pytest.raises(CorruptRawFileError) as caught:
        read_reuters21578(folder)
    message = str(caught.value)
    assert "reut2-005.sgm" in message
    assert "record 500 " in message
    assert f"NEWID {_newid_of(original, 500)}" in message
    assert "500 <REUTERS> and 499 </REUTERS>" in message


def test_truncated_open_tag_is_reported(reuters_mirror: Path, tmp_path: Path) -> None:
    original = (reuters_mirror / "reut2-021.sgm").read_bytes()
    cut = _nth_open(original, 578) + 30  # the file ends inside the last record's open tag
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {"reut2-021.sgm": lambda b: b[:cut]})
    with pytest.raises(
        CorruptRawFileError, match=r"reut2-021\.sgm: .*after record 577.*record 578 truncated"
    ):
        read_reuters21578(folder)


@pytest.mark.parametrize(
    ("attribute", "record", "newid_known"),
    [("NEWID", 7, False), ("LEWISSPLIT", 3, True), ("TOPICS", 1000, True)],
)
def test_missing_attribute(
    reuters_mirror: Path, tmp_path: Path, attribute: str, record: int, newid_known: bool
) -> None:
    original = (reuters_mirror / "reut2-002.sgm").read_bytes()
    at = _nth_open(original, record)
    tag_end = original.index(b">", at)
    tag = re.sub(rf' {attribute}="[^"]*"'.encode(), b"", original[at:tag_end])
    edited = original[:at] + tag + original[tag_end:]
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {"reut2-002.sgm": lambda _: edited})
    with pytest.raises(CorruptRawFileError) as caught:
        read_reuters21578(folder)
    message = str(caught.value)
    assert f"reut2-002.sgm: record {record} " in message
    assert f"lacks attribute(s) {attribute}" in message
    newid = _newid_of(original, record) if newid_known else "unknown"
    assert f"NEWID {newid}" in message


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"<TOPICS>", b"<TOPICS><TOPICS>"), (b"</TOPICS>", b""), (b"<D>", b"<D><D>")],
    ids=["nested", "unterminated", "malformed-items"],
)
def test_broken_topics_element(
    reuters_mirror: Path, tmp_path: Path, old: bytes, new: bytes
) -> None:
    original = (reuters_mirror / "reut2-010.sgm").read_bytes()
    at = original.index(b"<TOPICS><D>", _nth_open(original, 2))
    edited = original[:at] + original[at:].replace(old, new, 1)
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {"reut2-010.sgm": lambda _: edited})
    with pytest.raises(CorruptRawFileError, match=r"reut2-010\.sgm: record 2 .*TOPICS"):
        read_reuters21578(folder)


def test_file_without_records(reuters_mirror: Path, tmp_path: Path) -> None:
    readme = (reuters_mirror / "README.txt").read_bytes().replace(b"<REUTERS", b"[REUTERS")
    readme = readme.replace(b"</REUTERS>", b"[/REUTERS]")
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {"reut2-012.sgm": lambda _: readme})
    with pytest.raises(CorruptRawFileError, match=r"reut2-012\.sgm: no <REUTERS \.\.\.> records"):
        read_reuters21578(folder)


def test_stray_close_tag(reuters_mirror: Path, tmp_path: Path) -> None:
    original = (reuters_mirror / "reut2-001.sgm").read_bytes()
    at = _nth_open(original, 10)
    edited = original[:at] + b"</REUTERS>\n" + original[at:]
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {"reut2-001.sgm": lambda _: edited})
    with pytest.raises(CorruptRawFileError, match=r"reut2-001\.sgm: record 1[01] "):
        read_reuters21578(folder)


def test_missing_file(reuters_mirror: Path, tmp_path: Path) -> None:
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {})
    (folder / "reut2-013.sgm").unlink()
    with pytest.raises(RawDataNotFoundError, match=r"lacks 1 of the 22 .*reut2-013\.sgm"):
        read_reuters21578(folder)
    with pytest.raises(RawDataNotFoundError, match=r"reut2-013\.sgm"):
        load_corpus("reuters", raw_dir=folder)


def test_missing_raw_folder_lists_files_and_places(tmp_path: Path) -> None:
    raw_root, mirror = tmp_path / "data" / "01_raw", tmp_path / "no-mirror"
    with pytest.raises(RawDataNotFoundError) as caught:
        load_corpus("reuters", raw_root=raw_root, mirror=mirror)
    message = str(caught.value)
    assert all(name in message for name in REUTERS_FILES)
    assert str(raw_root / "reuters") in message
    assert str(mirror / "reuters21578") in message
    assert "LONGTAIL_MLTC_MIRROR" in message
    assert "unset LONGTAIL_MLTC_OFFLINE" in message  # downloads by default; tests are offline
    assert not (raw_root / "reuters").exists()


def test_all_topics_no_gives_empty_corpus_error(reuters_mirror: Path, tmp_path: Path) -> None:
    def no_topics(data: bytes) -> bytes:
        return data.replace(b'TOPICS="YES"', b'TOPICS="NO"')

    folder = _copy_with(reuters_mirror, tmp_path / "raw", dict.fromkeys(REUTERS_FILES, no_topics))
    with pytest.raises(
        CorpusError, match=rf"corpus 'reuters' from {re.escape(str(folder))} has no"
    ):
        load_corpus("reuters", raw_dir=folder)


def test_repeated_newid_names_both_files_and_records(reuters_mirror: Path, tmp_path: Path) -> None:
    """NEWID is the doc_id: a repeat names both records, not only the corpus (issue 20)."""
    original = (reuters_mirror / "reut2-003.sgm").read_bytes()
    at = _nth_open(original, 10)
    first_newid = _newid_of((reuters_mirror / "reut2-000.sgm").read_bytes(), 1)
    edited = original[:at] + re.sub(
        rb'NEWID="\d+"', f'NEWID="{first_newid}"'.encode(), original[at:], count=1
    )
    folder = _copy_with(reuters_mirror, tmp_path / "raw", {"reut2-003.sgm": lambda _: edited})
    with pytest.raises(
        CorruptRawFileError,
        match=rf"^{re.escape(str(folder / 'reut2-003.sgm'))}: record 10 \(line \d+\): NEWID "
        rf"{first_newid} repeats the NEWID of {re.escape(str(folder / 'reut2-000.sgm'))}: "
        r"record 1 \(line 2\); expected each NEWID once",
    ):
        read_reuters21578(folder)
