"""Getting the data from a fresh clone (issue 22, item 1): a corpus with a public address and a
recorded checksum is downloaded by default, checksummed, into data/01_raw/<corpus>/; the suite
never downloads (LONGTAIL_MLTC_OFFLINE, set in conftest.py); without the files, the mirror and
the network, ingestion fails naming the files, every folder searched and the one switch.

Downloads here come from a real HTTP server on 127.0.0.1 (tests/local_http.py), never from the
internet."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest
from kedro_project import copy_project, run_pipeline
from local_http import serve

from longtail_mltc import settings
from longtail_mltc.corpora import (
    DownloadError,
    DownloadSpec,
    RawDataNotFoundError,
    available_corpora,
    download_raw,
    get_corpus_source,
    load_corpus,
    registry,
)
from longtail_mltc.corpora.acquisition import (
    MIRROR_ENV_VAR,
    OFFLINE_ENV_VAR,
    DownloadFailedError,
    offline_mode,
)
from longtail_mltc.corpora.reuters import REUTERS, REUTERS_FILES, REUTERS_SHA256, REUTERS_URL

KEDRO = str(Path(sys.executable).with_name("kedro"))
TOY_FILES = {"a.txt": b"alpha\n", "b.txt": b"beta\n"}
TOY_SHA = {name: hashlib.sha256(data).hexdigest() for name, data in TOY_FILES.items()}


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift the suite's offline switch for one test that downloads from 127.0.0.1."""
    monkeypatch.delenv(OFFLINE_ENV_VAR)


@pytest.fixture
def fresh_clone(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project copy with no raw files and an empty mirror: a fresh clone without ../shared."""
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv(MIRROR_ENV_VAR, str(empty))
    return project


def _raw_entries(project: Path) -> list[str]:
    """Everything under data/01_raw, hidden temporary files and folders included."""
    return sorted(p.name for p in (project / "data" / "01_raw").iterdir())


def _reuters_archive(folder: Path, reuters_mirror: Path, tamper: str | None = None) -> Path:
    """A tar.gz like UCI's built from the mirror's files; ``tamper`` changes one byte of one."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "reuters21578.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name in (*REUTERS_FILES, "README.txt"):
            data = (reuters_mirror / name).read_bytes()
            if name == tamper:
                data = data[:-1] + bytes([data[-1] ^ 1])
            info = tarfile.TarInfo(f"reuters21578/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def _serve_reuters_from(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registered Reuters source, with its recorded checksums, at a local address."""
    download = dataclasses.replace(REUTERS.download, url=f"{url}/reuters21578.tar.gz")
    monkeypatch.setitem(
        registry._REGISTRY, "reuters", dataclasses.replace(REUTERS, download=download)
    )


# --- the defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["local", "ci"])
def test_default_parameters_download_reuters(env: str, tmp_path: Path) -> None:
    conf = copy_project(tmp_path / "project") / "conf"  # the project's conf/, empty conf/local
    loader = settings.CONFIG_LOADER_CLASS(str(conf), **settings.CONFIG_LOADER_ARGS, env=env)
    assert loader["parameters"]["corpus_options"]["reuters"]["allow_download"] is True


def test_only_checksummed_public_addresses_are_registered() -> None:
    """Reuters's address has a recorded SHA-256 for every expected file; no corpus registers an
    address without a checksum."""
    assert REUTERS.download is not None and REUTERS.download.url == REUTERS_URL
    assert REUTERS.download.checksummed
    assert set(REUTERS.download.member_sha256) == set(REUTERS_FILES)
    for name in available_corpora():
        source = get_corpus_source(name)
        assert source.download is None or source.download.checksummed, name


def test_a_corpus_without_public_address_keeps_its_note(tmp_path: Path) -> None:
    with pytest.raises(RawDataNotFoundError) as caught:
        load_corpus("imcm", raw_root=tmp_path / "raw", mirror=tmp_path / "mirror")
    message = str(caught.value)
    assert "no public download address is registered for this corpus" in message
    assert "obtained from its authors on request" in message
    assert OFFLINE_ENV_VAR not in message


# --- the offline switch ---------------------------------------------------------------------------


def test_the_suite_and_its_subprocesses_are_offline() -> None:
    assert os.environ[OFFLINE_ENV_VAR] == "1" and offline_mode()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from longtail_mltc.corpora.acquisition import offline_mode as o; print(o())",
        ],
        env={**os.environ},
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("value", "offline"),
    [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False), ("", False)],
)
def test_offline_values(value: str, offline: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OFFLINE_ENV_VAR, value)
    assert offline_mode() is offline


def test_offline_mode_refuses_a_network_download_before_writing(tmp_path: Path) -> None:
    dest = tmp_path / "raw" / "toy"
    with pytest.raises(DownloadError, match=f"{OFFLINE_ENV_VAR} is set"):
        download_raw(DownloadSpec("http://127.0.0.1:9/toy.tar.gz", None, TOY_SHA), dest)
    assert not (tmp_path / "raw").exists()


def test_a_fresh_clone_offline_fails_at_ingestion_naming_files_folders_and_switch(
    fresh_clone: Path,
) -> None:
    """`kedro run` as a user types it, in a subprocess that inherits the suite's offline switch
    (and this project copy's empty mirror)."""
    out = subprocess.run(
        [KEDRO, "run", "--pipelines=ingestion", "--env=ci"],
        cwd=fresh_clone,
        env={**os.environ, "COLUMNS": "1000"},  # rich's traceback: one line per message line
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0
    message = out.stderr
    assert "RawDataNotFoundError: raw files of corpus 'reuters' not found." in message
    assert f"Expected files: {', '.join(REUTERS_FILES)}" in message
    mirror = Path(os.environ[MIRROR_ENV_VAR])
    for folder, where in (
        (fresh_clone / "data" / "01_raw" / "reuters", "raw data folder"),
        (mirror / "reuters21578", f"mirror (${MIRROR_ENV_VAR})"),
        (mirror / "reuters", f"mirror (${MIRROR_ENV_VAR})"),
    ):
        assert f"{folder} [{where}]: no such folder" in message
    assert (
        f"or download them from {REUTERS_URL}: unset {OFFLINE_ENV_VAR}, whose value '1' forbids "
        "downloads over the network"
    ) in message
    assert _raw_entries(fresh_clone) == []
    assert not (fresh_clone / "data" / "03_primary" / "reuters").exists()


# --- the default download, over a real local socket -----------------------------------------------


@pytest.mark.usefixtures("online")
def test_a_fresh_clone_downloads_reuters_by_default_and_checks_it(
    fresh_clone: Path, reuters_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default parameters, no raw folder, empty mirror: the ingestion downloads the archive
    through the real acquisition code, verifies every file's recorded SHA-256 and reads it."""
    _reuters_archive(tmp_path / "site", reuters_mirror)
    with serve(tmp_path / "site") as url:
        _serve_reuters_from(url, monkeypatch)
        run_pipeline(fresh_clone, "ingestion")
    raw = fresh_clone / "data" / "01_raw" / "reuters"
    assert _raw_entries(fresh_clone) == ["reuters"]  # no temporary file left beside it
    assert sorted(p.name for p in raw.iterdir()) == sorted((*REUTERS_FILES, "README.txt"))
    for name in REUTERS_FILES:
        assert hashlib.sha256((raw / name).read_bytes()).hexdigest() == REUTERS_SHA256[name]
    corpus = pd.read_parquet(fresh_clone / "data" / "03_primary" / "reuters" / "corpus.parquet")
    assert corpus["split"].value_counts().to_dict() == {"train": 7770, "test": 3019}


@pytest.mark.usefixtures("online")
def test_a_download_with_a_wrong_checksum_fails_and_leaves_nothing(
    fresh_clone: Path, reuters_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reuters_archive(tmp_path / "site", reuters_mirror, tamper="reut2-005.sgm")
    with serve(tmp_path / "site") as url:
        _serve_reuters_from(url, monkeypatch)
        with pytest.raises(DownloadError, match=r"checksum mismatch for 'reut2-005\.sgm'"):
            run_pipeline(fresh_clone, "ingestion")
    assert _raw_entries(fresh_clone) == []  # no archive, no partial folder, no reuters/
    assert not (fresh_clone / "data" / "03_primary" / "reuters").exists()


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: a connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.usefixtures("online")
def test_a_failed_download_names_url_error_folders_and_how_not_to_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/toy.tar.gz"
    source = registry.CorpusSource(
        "toy_unreachable",
        lambda folder: None,
        tuple(TOY_FILES),
        download=DownloadSpec(url, None, TOY_SHA),
    )
    monkeypatch.setitem(registry._REGISTRY, source.name, source)
    raw_root, mirror = tmp_path / "raw", tmp_path / "mirror"
    with pytest.raises(DownloadFailedError) as caught:
        load_corpus(source.name, raw_root=raw_root, mirror=mirror)
    message = str(caught.value)
    assert message.startswith(
        "raw files of corpus 'toy_unreachable' not found, and downloading them failed."
    )
    assert "Expected files: a.txt, b.txt" in message
    assert f"{raw_root / 'toy_unreachable'} [raw data folder]: no such folder" in message
    assert f"{mirror / 'toy_unreachable'} [mirror (mirror argument)]: no such folder" in message
    assert f"download of {url} failed: <urlopen error [Errno 111] Connection refused>" in message
    assert "`--params corpus_options.toy_unreachable.allow_download=false`" in message
    assert not raw_root.exists() or list(raw_root.iterdir()) == []
    with pytest.raises(RawDataNotFoundError, match="allow_download=true"):
        load_corpus(source.name, raw_root=raw_root, mirror=mirror, allow_download=False)


def test_allow_download_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"corpus_options\.reuters\.allow_download: expected"):
        load_corpus("reuters", raw_root=tmp_path, mirror=tmp_path, allow_download="false")
