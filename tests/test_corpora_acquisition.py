"""Raw data acquisition: search order, error messages and safe downloads (no network: file://)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from longtail_mltc.corpora import (
    MIRROR_ENV_VAR,
    DownloadError,
    DownloadSpec,
    RawDataNotFoundError,
    download_raw,
    locate_raw_dir,
    read_reuters21578,
)
from longtail_mltc.corpora.reuters import REUTERS_FILES, REUTERS_SHA256

FILES = {"a.txt": b"alpha\n", "b.txt": b"beta\n"}
SHA = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


@pytest.fixture(autouse=True)
def _no_mirror_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)


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


def test_download_needs_permission(tmp_path: Path) -> None:
    archive = _tar_gz(_write(tmp_path / "src", {}) / "toy.tar.gz", FILES)
    spec = _spec(archive)
    with pytest.raises(RawDataNotFoundError, match=r"allow_download=True\) from file://"):
        locate_raw_dir(
            "toy", list(FILES), raw_root=tmp_path / "raw", mirror=tmp_path / "m", download=spec
        )
    assert not (tmp_path / "raw").exists()
    found = locate_raw_dir(
        "toy",
        list(FILES),
        raw_root=tmp_path / "raw",
        mirror=tmp_path / "m",
        download=spec,
        allow_download=True,
    )
    assert found == tmp_path / "raw" / "toy"
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
