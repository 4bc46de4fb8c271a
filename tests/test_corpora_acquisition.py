"""Raw data acquisition: search order, error messages and safe downloads (file:// and real HTTP
on 127.0.0.1), with archive and download limits."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import mirror_path
from local_http import FileHandler, UnsizedHandler, serve

from longtail_mltc.corpora import (
    MIRROR_ENV_VAR,
    DownloadError,
    DownloadSpec,
    RawDataNotFoundError,
    download_raw,
    locate_raw_dir,
    read_reuters21578,
)
from longtail_mltc.corpora.acquisition import OFFLINE_ENV_VAR, ArchiveLimits, DownloadLimitError
from longtail_mltc.corpora.reuters import REUTERS_FILES, REUTERS_SHA256

FILES = {"a.txt": b"alpha\n", "b.txt": b"beta\n"}
SHA = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


@pytest.fixture(autouse=True)
def _no_mirror_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift the suite's offline switch for one test that downloads from 127.0.0.1."""
    monkeypatch.delenv(OFFLINE_ENV_VAR)


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _tar_gz(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    """A tar.gz with regular ``members`` and symlinks ``links`` (name -> target)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return path


def _spec(archive: Path, archive_sha256: str | None = None, **member_sha: str) -> DownloadSpec:
    return DownloadSpec(archive.as_uri(), archive_sha256, member_sha or SHA)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- search order -------------------------------------------------------------------------------


def test_raw_root_beats_mirror(tmp_path: Path) -> None:
    raw = _write(tmp_path / "raw" / "toy", FILES)
    _write(tmp_path / "mirror" / "toy-folder", FILES)
    found = locate_raw_dir(
        "toy",
        list(FILES),
        raw_root=tmp_path / "raw",
        mirror=tmp_path / "mirror",
        mirror_folder="toy-folder",
    )
    assert found == raw


def test_mirror_folder_name_may_differ(tmp_path: Path) -> None:
    mirrored = _write(tmp_path / "mirror" / "toy-folder", FILES)
    found = locate_raw_dir(
        "toy",
        list(FILES),
        raw_root=tmp_path / "raw",
        mirror=tmp_path / "mirror",
        mirror_folder="toy-folder",
    )
    assert found == mirrored


def test_environment_variable_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirrored = _write(tmp_path / "env-mirror" / "toy", FILES)
    monkeypatch.setenv(MIRROR_ENV_VAR, str(tmp_path / "env-mirror"))
    assert locate_raw_dir("toy", list(FILES), raw_root=tmp_path / "raw") == mirrored
    argument = _write(tmp_path / "arg-mirror" / "toy", FILES)
    found = locate_raw_dir("toy", list(FILES), raw_root=tmp_path / "raw", mirror=argument.parent)
    assert found == argument  # the explicit argument beats the variable


def test_default_mirror_from_cwd_and_from_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    _write(project, {"pyproject.toml": b"[project]\nname = 'x'\n"})
    shared = _write(tmp_path / "shared" / "datasets" / "toy", FILES)
    monkeypatch.chdir(project)
    assert locate_raw_dir("toy", list(FILES)) == shared.resolve()
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project / "notebooks")
    assert locate_raw_dir("toy", list(FILES)) == shared.resolve()


def test_default_raw_root_is_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _write(tmp_path / "data" / "01_raw" / "toy", FILES)
    monkeypatch.chdir(tmp_path)
    assert locate_raw_dir("toy", list(FILES)).resolve() == raw.resolve()


def test_partial_folders_are_reported(tmp_path: Path) -> None:
    _write(tmp_path / "raw" / "toy", {"a.txt": FILES["a.txt"]})
    _write(tmp_path / "mirror" / "toy", {"b.txt": FILES["b.txt"]})
    with pytest.raises(RawDataNotFoundError) as caught:
        locate_raw_dir("toy", list(FILES), raw_root=tmp_path / "raw", mirror=tmp_path / "mirror")
    message = str(caught.value)
    raw_line = f"{tmp_path / 'raw' / 'toy'} [raw data folder]: partial, missing 1 of 2: b.txt"
    mirror_line = f"{tmp_path / 'mirror' / 'toy'} [mirror (mirror argument)]: partial, missing"
    assert raw_line in message
    assert f"{mirror_line} 1 of 2: a.txt" in message
    assert "Expected files: a.txt, b.txt" in message
    assert "no public download address" in message


def test_download_is_the_default_with_a_checksum_and_can_be_turned_off(tmp_path: Path) -> None:
    """``allow_download=False`` never downloads and names the setting that does; unset, a
    checksummed address is downloaded (``file://`` reads a local file: allowed offline)."""
    archive = _tar_gz(_write(tmp_path / "src", {}) / "toy.tar.gz", FILES)
    spec = _spec(archive)
    common = {"raw_root": tmp_path / "raw", "mirror": tmp_path / "m", "download": spec}
    with pytest.raises(RawDataNotFoundError) as caught:
        locate_raw_dir("toy", list(FILES), allow_download=False, **common)
    assert f"or download them from {spec.url}: " in str(caught.value)
    assert "`kedro run --params corpus_options.toy.allow_download=true`" in str(caught.value)
    assert not (tmp_path / "raw").exists()
    found = locate_raw_dir("toy", list(FILES), **common)
    assert found == tmp_path / "raw" / "toy"
    assert {p.name: p.read_bytes() for p in found.iterdir()} == FILES


def test_an_address_without_checksum_is_downloaded_only_when_allowed(tmp_path: Path) -> None:
    archive = _tar_gz(_write(tmp_path / "src", {}) / "toy.tar.gz", FILES)
    spec = DownloadSpec(archive.as_uri())
    assert not spec.checksummed and _spec(archive).checksummed
    common = {"raw_root": tmp_path / "raw", "mirror": tmp_path / "m", "download": spec}
    with pytest.raises(RawDataNotFoundError, match="no recorded checksum, so it is not downloaded"):
        locate_raw_dir("toy", list(FILES), **common)
    found = locate_raw_dir("toy", list(FILES), allow_download=True, **common)
    assert {p.name: p.read_bytes() for p in found.iterdir()} == FILES


# --- safe download ------------------------------------------------------------------------------


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    return _write(tmp_path / "source", {})


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out" / "raw" / "toy"


def _assert_nothing_written(dest: Path) -> None:
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temporary archive or partial folder left


@pytest.mark.parametrize("prefix", ["", "toy-1.0/"], ids=["flat", "in-subfolder"])
def test_download_good_archive(source_dir: Path, dest: Path, prefix: str) -> None:
    members = {prefix + name: data for name, data in FILES.items()} | {prefix + "README": b"r"}
    archive = _tar_gz(source_dir / "toy.tar.gz", members)
    assert download_raw(_spec(archive, _sha(archive)), dest) == dest
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == FILES | {"README": b"r"}
    assert sorted(p.name for p in dest.parent.iterdir()) == ["toy"]


def test_download_zip_archive(source_dir: Path, dest: Path) -> None:
    archive = source_dir / "toy.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, data in FILES.items():
            zipped.writestr(name, data)
    download_raw(_spec(archive), dest)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == FILES


def test_download_rejects_wrong_archive_checksum(source_dir: Path, dest: Path) -> None:
    archive = _tar_gz(source_dir / "toy.tar.gz", FILES)
    with pytest.raises(DownloadError, match="checksum mismatch for file://"):
        download_raw(_spec(archive, "0" * 64), dest)
    _assert_nothing_written(dest)


def test_download_rejects_tampered_member(source_dir: Path, dest: Path) -> None:
    archive = _tar_gz(source_dir / "toy.tar.gz", {"a.txt": b"alpha\n", "b.txt": b"evil\n"})
    with pytest.raises(DownloadError, match=r"checksum mismatch for 'b\.txt'"):
        download_raw(_spec(archive), dest)
    _assert_nothing_written(dest)


def test_download_rejects_missing_member(source_dir: Path, dest: Path) -> None:
    archive = _tar_gz(source_dir / "toy.tar.gz", {"a.txt": FILES["a.txt"]})
    with pytest.raises(DownloadError, match=r"exactly one 'b\.txt' in the archive, found 0"):
        download_raw(_spec(archive), dest)
    _assert_nothing_written(dest)


@pytest.mark.parametrize(
    ("members", "links", "message"),
    [
        ({"../evil": b"x"} | FILES, {}, "leaves the target folder"),
        ({"ok/../../evil": b"x"} | FILES, {}, "leaves the target folder"),
        ({"/tmp/evil-absolute": b"x"} | FILES, {}, "absolute path"),
        (FILES, {"link": "../../outside"}, "points outside the target folder"),
        (FILES, {"link": "/etc/passwd"}, "points outside the target folder"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-escape", "symlink-absolute"],
)
def test_download_rejects_malicious_tar(
    source_dir: Path, dest: Path, members: dict[str, bytes], links: dict[str, str], message: str
) -> None:
    archive = _tar_gz(source_dir / "evil.tar.gz", members, links)
    with pytest.raises(DownloadError, match=f"unsafe archive .*{message}"):
        download_raw(_spec(archive), dest)
    _assert_nothing_written(dest)
    assert not (dest.parent.parent / "evil").exists()
    assert not (dest.parent.parent.parent / "evil").exists()
    assert not Path("/tmp/evil-absolute").exists()


def test_download_rejects_malicious_zip(source_dir: Path, dest: Path) -> None:
    archive = source_dir / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../evil", b"x")
        for name, data in FILES.items():
            zipped.writestr(name, data)
    with pytest.raises(DownloadError, match="leaves the target folder"):
        download_raw(_spec(archive), dest)
    _assert_nothing_written(dest)
    assert not (dest.parent.parent / "evil").exists()


def test_download_rejects_non_archive_and_missing_url(source_dir: Path, dest: Path) -> None:
    not_archive = source_dir / "plain.txt"
    not_archive.write_bytes(b"just text")
    with pytest.raises(DownloadError, match="neither a tar nor a zip"):
        download_raw(_spec(not_archive), dest)
    _assert_nothing_written(dest)
    with pytest.raises(DownloadError, match="download of file://.* failed"):
        download_raw(_spec(source_dir / "absent.tar.gz"), dest)
    _assert_nothing_written(dest)


def test_download_refuses_non_empty_destination(source_dir: Path, dest: Path) -> None:
    archive = _tar_gz(source_dir / "toy.tar.gz", FILES)
    _write(dest, {"mine.txt": b"keep me"})
    with pytest.raises(DownloadError, match="not empty"):
        download_raw(_spec(archive), dest)
    assert [p.name for p in dest.iterdir()] == ["mine.txt"]


def test_reuters_download_spec_accepts_the_original_files(
    reuters_mirror: Path, tmp_path: Path
) -> None:
    """A file:// stand-in for the UCI archive, built from the mirror, passes every checksum."""
    archive = tmp_path / "reuters21578.tar"
    with tarfile.open(archive, "w") as tar:
        for name in (*REUTERS_FILES, "README.txt"):
            tar.add(reuters_mirror / name, arcname=name)
    spec = DownloadSpec(archive.as_uri(), None, REUTERS_SHA256)
    found = locate_raw_dir(
        "reuters",
        REUTERS_FILES,
        raw_root=tmp_path / "raw",
        mirror=tmp_path / "no-mirror",
        mirror_folder="reuters21578",
        download=spec,
        allow_download=True,
    )
    assert found == tmp_path / "raw" / "reuters"
    assert read_reuters21578(found)["split"].value_counts().to_dict() == {
        "train": 7770,
        "test": 3019,
    }


# --- archive and download limits ----------------------------------------------------------------

MIB = 1 << 20
GIB = 1 << 30
DEFAULTS = ArchiveLimits()
BombBuilder = Callable[[Path, int], Path]


def _zeros_deflated(size: int) -> Iterator[bytes]:
    """Raw deflate of ``size`` zero bytes, as one 1 MiB block repeated (full flushes make the
    blocks identical), so a 1 GiB bomb is built in milliseconds rather than deflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    for _ in range(size // MIB):
        yield block
    yield compressor.flush()


def _zeros_crc32(size: int) -> int:
    crc = 0
    zeros = bytes(MIB)
    for _ in range(size // MIB):
        crc = zlib.crc32(zeros, crc)
    return crc


def _zip_bomb(path: Path, size: int, name: str = "zeros.bin") -> Path:
    """A valid one-member zip whose member is ``size`` zero bytes (a multiple of 1 MiB, under
    4 GiB). Written by hand (the zip header layout of APPNOTE 4.3.7, 4.3.12, 4.3.16) because
    zipfile would spend seconds deflating the zeros."""
    data = b"".join(_zeros_deflated(size))
    crc, encoded = _zeros_crc32(size), name.encode()
    common = (20, 0, 0, zipfile.ZIP_DEFLATED, 0, 0x21, crc, len(data), size, len(encoded))
    local = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", *common, 0) + encoded
    central = (
        struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, *common, 0, 0, 0, 0, 0o100644 << 16, 0)
        + encoded
    )
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(data), 0
    )
    path.write_bytes(local + data + central + end)
    return path


def _tar_gz_bomb(path: Path, size: int, name: str = "zeros.bin") -> Path:
    """A valid tar.gz whose one member is ``size`` zero bytes (a multiple of 1 MiB): a gzip file
    of several members (RFC 1952 2.2), one per 1 MiB of the tar stream."""
    header = tarfile.TarInfo(name)
    header.size = size
    block = gzip.compress(bytes(MIB), 9)
    with open(path, "wb") as out:
        out.write(gzip.compress(header.tobuf(format=tarfile.GNU_FORMAT)))
        for _ in range(size // MIB):
            out.write(block)
        out.write(gzip.compress(bytes(tarfile.RECORDSIZE)))  # end-of-archive zero blocks
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


def _random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _archive(folder: Path, kind: str, members: dict[str, bytes]) -> Path:
    if kind == "zip":
        return _zip(folder / "toy.zip", members)
    return _tar_gz(folder / "toy.tar.gz", members)


def _limit_error(
    spec: DownloadSpec, dest: Path, limits: ArchiveLimits | None = None
) -> DownloadLimitError:
    """The limit error of downloading ``spec`` (default limits when ``limits`` is None)."""
    with pytest.raises(DownloadLimitError) as caught:
        if limits is None:
            download_raw(spec, dest)
        else:
            download_raw(spec, dest, limits=limits)
    _assert_nothing_written(dest)
    return caught.value


@pytest.mark.parametrize("builder", [_zip_bomb, _tar_gz_bomb], ids=["zip", "tar.gz"])
def test_the_bomb_builders_make_valid_archives(tmp_path: Path, builder: BombBuilder) -> None:
    archive = builder(tmp_path / "bomb", 4 * MIB)
    if builder is _zip_bomb:
        with zipfile.ZipFile(archive) as zipped:
            assert zipped.testzip() is None  # the CRC matches
            assert zipped.read("zeros.bin") == bytes(4 * MIB)
    else:
        with tarfile.open(archive) as tar:
            reader = tar.extractfile("zeros.bin")
            assert reader is not None
            assert reader.read() == bytes(4 * MIB)
    assert archive.stat().st_size < 8 * 1024


@pytest.mark.parametrize(
    ("builder", "name"),
    [(_zip_bomb, "bomb.zip"), (_tar_gz_bomb, "bomb.tar.gz")],
    ids=["zip", "tar.gz"],
)
def test_a_1_mib_bomb_of_1_gib_is_refused_early_with_the_default_limits(
    source_dir: Path, dest: Path, builder: BombBuilder, name: str
) -> None:
    archive = builder(source_dir / name, GIB)
    assert archive.stat().st_size < 1.1 * MIB
    with pytest.raises(DownloadLimitError) as caught:
        download_raw(DownloadSpec(archive.as_uri()), dest)
    _assert_nothing_written(dest)
    error = caught.value
    assert (error.setting, error.member) == ("max_ratio", "zeros.bin")
    # never more than the ratio allows for the archive's size (200 MiB here) ...
    assert error.written <= DEFAULTS.max_ratio * archive.stat().st_size
    # ... and in fact far less: the ratio is checked against the compressed bytes read so far
    assert error.written <= 32 * MIB
    message = str(error)
    for part in (name, "'zeros.bin'", "max_ratio=200", "ArchiveLimits.max_ratio", "none kept"):
        assert part in message


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_total_extracted_bytes_are_capped(source_dir: Path, dest: Path, kind: str) -> None:
    members = {"a.bin": _random_bytes(MIB, 1), "b.bin": _random_bytes(2 * MIB, 2)}
    archive = _archive(source_dir, kind, members)
    limits = ArchiveLimits(max_extracted_bytes=2 * MIB)
    error = _limit_error(DownloadSpec(archive.as_uri()), dest, limits)
    assert (error.setting, error.member, error.limit) == ("max_extracted_bytes", "b.bin", 2 * MIB)
    assert error.written <= 2 * MIB
    assert f"max_extracted_bytes={2 * MIB:,}" in str(error)
    enough = ArchiveLimits(max_extracted_bytes=3 * MIB)  # exactly the extracted size
    download_raw(DownloadSpec(archive.as_uri()), dest, limits=enough)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == members


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_member_count_is_capped(source_dir: Path, dest: Path, kind: str) -> None:
    members = {f"m{index:02d}.txt": b"x" for index in range(11)}
    archive = _archive(source_dir, kind, members)
    error = _limit_error(DownloadSpec(archive.as_uri()), dest, ArchiveLimits(max_members=10))
    assert (error.setting, error.member) == ("max_members", "m10.txt")
    assert "more than 10 entries" in str(error)
    download_raw(DownloadSpec(archive.as_uri()), dest, limits=ArchiveLimits(max_members=11))
    assert len(list(dest.iterdir())) == 11


def test_a_high_ratio_zip_member_is_refused_beside_incompressible_ones(
    source_dir: Path, dest: Path
) -> None:
    """The whole archive expands only 1.5:1, but one member 1,000:1 (default limits)."""
    archive = _zip(
        source_dir / "mixed.zip",
        {"noise.bin": _random_bytes(4 * MIB), "zeros.bin": bytes(2 * MIB)},
    )
    total = 6 * MIB / archive.stat().st_size
    assert total < 2
    error = _limit_error(DownloadSpec(archive.as_uri()), dest)
    assert (error.setting, error.member) == ("max_ratio", "zeros.bin")
    assert "from its" in str(error)  # the member's own compressed size


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_small_high_ratio_archive_is_refused(source_dir: Path, dest: Path, kind: str) -> None:
    """8 MiB of zeros beside a real file: far under every size limit, but about 1,000:1."""
    members = {"a.txt": FILES["a.txt"], "zeros.bin": bytes(8 * MIB)}
    archive = _archive(source_dir, kind, members)
    error = _limit_error(DownloadSpec(archive.as_uri()), dest)
    assert (error.setting, error.member) == ("max_ratio", "zeros.bin")
    assert error.written <= DEFAULTS.max_ratio * archive.stat().st_size


def _dense_delicious(rows: int) -> bytes:
    """The first Delicious training rows as a dense 0/1 table: real data at about 60:1."""
    lines = []
    with open(mirror_path("delicious", "delicious-train.arff"), encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("{") and len(lines) < rows:
                cells = ["0"] * 1483
                for pair in line.strip()[1:-1].split(","):
                    cells[int(pair.split()[0])] = "1"
                lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def test_real_archives_under_the_limits_extract_correctly(source_dir: Path, dest: Path) -> None:
    """Delicious as a zip (files as distributed) and as a dense table (about 60:1, the highest
    ratio of any real corpus measured): both extract with the default limits, byte for byte."""
    members = {
        name: mirror_path("delicious", name).read_bytes()
        for name in ("delicious-train.arff", "delicious-test.arff", "delicious.xml")
    } | {"dense.csv": _dense_delicious(2000)}
    archive = _zip(source_dir / "delicious.zip", members)
    with zipfile.ZipFile(archive) as zipped:
        dense = zipped.getinfo("dense.csv")
        assert 40 < dense.file_size / dense.compress_size < DEFAULTS.max_ratio
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    download_raw(DownloadSpec(archive.as_uri(), _sha(archive), sha), dest)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == members


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"ArchiveLimits\.max_ratio must be a positive number"):
        ArchiveLimits(max_ratio=0)
    with pytest.raises(ValueError, match=r"ArchiveLimits\.max_members must be a positive"):
        ArchiveLimits(max_members=-1)


def test_limits_from_configuration() -> None:
    limits = ArchiveLimits.from_mapping({"max_ratio": 500, "max_members": 10})
    assert (limits.max_ratio, limits.max_members) == (500, 10)
    assert limits.max_extracted_bytes == DEFAULTS.max_extracted_bytes
    assert ArchiveLimits.from_mapping(None) == DEFAULTS
    where = "corpus_options.toy.download_limits"
    with pytest.raises(ValueError, match=rf"{re.escape(where)}: unknown setting\(s\) max_ratios"):
        ArchiveLimits.from_mapping({"max_ratios": 5}, where)


def test_archive_checksum_is_verified_before_extraction(source_dir: Path, dest: Path) -> None:
    """A wrong archive checksum stops a 1 GiB bomb before a byte is extracted."""
    archive = _tar_gz_bomb(source_dir / "bomb.tar.gz", GIB)
    with pytest.raises(DownloadError, match="checksum mismatch for file://"):
        download_raw(DownloadSpec(archive.as_uri(), "0" * 64), dest)
    _assert_nothing_written(dest)


def test_a_tampered_member_fails_as_soon_as_it_is_written(source_dir: Path, dest: Path) -> None:
    """b.txt is checked when written, before the next member could fill the disk."""
    members = {"a.txt": FILES["a.txt"], "b.txt": b"evil\n", "c.bin": _random_bytes(2 * MIB)}
    archive = _tar_gz(source_dir / "toy.tar.gz", members)
    with pytest.raises(DownloadError, match=r"checksum mismatch for 'b\.txt'"):
        download_raw(_spec(archive), dest, limits=ArchiveLimits(max_extracted_bytes=MIB))
    _assert_nothing_written(dest)


def test_links_inside_the_archive_still_work(source_dir: Path, dest: Path) -> None:
    archive = source_dir / "links.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in FILES.items():
            info = tarfile.TarInfo(f"sub/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        hard = tarfile.TarInfo("sub/hard.txt")
        hard.type, hard.linkname = tarfile.LNKTYPE, "sub/a.txt"
        soft = tarfile.TarInfo("sub/soft.txt")
        soft.type, soft.linkname = tarfile.SYMTYPE, "b.txt"
        tar.addfile(hard)
        tar.addfile(soft)
    download_raw(_spec(archive), dest)
    assert (dest / "hard.txt").read_bytes() == FILES["a.txt"]
    assert (dest / "soft.txt").is_symlink()
    assert (dest / "soft.txt").read_bytes() == FILES["b.txt"]


def test_a_link_through_a_link_cannot_leave_the_folder(source_dir: Path, dest: Path) -> None:
    """``x -> d/..`` looks inside, but ``d -> .`` makes it the folder's parent."""
    archive = _tar_gz(source_dir / "evil.tar.gz", FILES, {"d": ".", "x": "d/.."})
    with pytest.raises(DownloadError, match=r"unsafe archive .*'x' -> 'd/\.\.'.*outside"):
        download_raw(_spec(archive), dest)
    _assert_nothing_written(dest)


# --- downloads over real HTTP on 127.0.0.1 --------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "announced"),
    [(FileHandler, True), (UnsizedHandler, False)],
    ids=["content-length", "no-content-length"],
)
@pytest.mark.usefixtures("online")
def test_download_is_capped(
    source_dir: Path, dest: Path, handler: type[FileHandler], announced: bool
) -> None:
    """Announced too big: refused before reading; unannounced: stopped at the cap."""
    archive = _tar_gz(source_dir / "big.tar.gz", {"noise.bin": _random_bytes(3 * MIB)})
    with serve(source_dir, handler) as url:
        spec = DownloadSpec(f"{url}/big.tar.gz")
        error = _limit_error(spec, dest, ArchiveLimits(max_download_bytes=MIB))
        assert (error.setting, error.member) == ("max_download_bytes", None)
        assert (error.written == 0) if announced else (0 < error.written <= MIB)  # <= the cap
        message = str(error)
        assert f"big.tar.gz from {url}/big.tar.gz" in message
        assert f"max_download_bytes={MIB:,} bytes" in message
        assert "ArchiveLimits.max_download_bytes" in message
        # under the cap the same download goes through
        download_raw(spec, dest, limits=ArchiveLimits(max_download_bytes=archive.stat().st_size))
    assert (dest / "noise.bin").read_bytes() == _random_bytes(3 * MIB)


@pytest.mark.usefixtures("online")
def test_reuters_archive_over_http_with_default_limits(
    reuters_mirror: Path, source_dir: Path, tmp_path: Path
) -> None:
    """The real Reuters-21578 files as a tar.gz (like UCI's), served over HTTP: every member's
    checksum passes and the limits leave it alone."""
    archive = source_dir / "reuters21578.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name in (*REUTERS_FILES, "README.txt"):
            tar.add(reuters_mirror / name, arcname=name)
    with serve(source_dir) as url:
        spec = DownloadSpec(f"{url}/reuters21578.tar.gz", _sha(archive), REUTERS_SHA256)
        found = download_raw(spec, tmp_path / "raw" / "reuters")
    assert sorted(os.listdir(found)) == sorted((*REUTERS_FILES, "README.txt"))
    assert all(_sha(found / name) == REUTERS_SHA256[name] for name in REUTERS_FILES)


@pytest.mark.usefixtures("online")
def test_load_corpus_passes_its_download_limits_to_the_download(
    source_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``corpus_options.<name>.download_limits`` reach the download: a cap below the archive's
    size stops it, and a misspelt key is named with the setting's place in configuration."""
    from longtail_mltc.corpora import load_corpus, registry

    archive = _tar_gz(source_dir / "toy.tar.gz", {"noise.bin": _random_bytes(2 * MIB)})
    with serve(source_dir) as url:
        source = registry.CorpusSource(
            "capped_toy",
            lambda folder: None,
            ("noise.bin",),
            download=DownloadSpec(f"{url}/toy.tar.gz"),
        )
        monkeypatch.setitem(registry._REGISTRY, source.name, source)
        common = {"raw_root": tmp_path / "raw", "mirror": tmp_path / "no_mirror"}
        with pytest.raises(DownloadLimitError, match="max_download_bytes"):
            load_corpus(
                "capped_toy",
                allow_download=True,
                download_limits={"max_download_bytes": MIB},
                **common,
            )
        where = "corpus_options.capped_toy.download_limits"
        with pytest.raises(ValueError, match=rf"{re.escape(where)}: unknown setting\(s\) max_byte"):
            load_corpus(
                "capped_toy", allow_download=True, download_limits={"max_byte": 1}, **common
            )
    assert archive.stat().st_size > MIB
    assert not (tmp_path / "raw" / "capped_toy" / "noise.bin").exists()
