"""Find a corpus's raw files, or download them safely (DESIGN "Raw data acquisition").

Search order:

1. ``<raw_root>/<corpus>/`` (default ``data/01_raw/<corpus>/``);
2. the mirror: the ``mirror`` argument, else ``$LONGTAIL_MLTC_MIRROR``, else
   ``../shared/datasets`` seen from the working directory or from the project root (the nearest
   parent of the working directory holding ``pyproject.toml``); inside it the corpus's
   ``mirror_folder`` (then ``<corpus>``);
3. the public download address, only with ``allow_download=True``: checksums verified, the
   archive extracted safely into a temporary folder and renamed into ``<raw_root>/<corpus>/``
   only once every check passed.

A folder counts only when it holds every expected file; otherwise the error lists, for every
place searched, what was missing, and how to fix it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from longtail_mltc.corpora.errors import DownloadError, RawDataNotFoundError

__all__ = [
    "DEFAULT_RAW_ROOT",
    "MIRROR_ENV_VAR",
    "DownloadSpec",
    "download_raw",
    "locate_raw_dir",
    "missing_files",
    "sha256_file",
]

logger = logging.getLogger(__name__)

MIRROR_ENV_VAR = "LONGTAIL_MLTC_MIRROR"
DEFAULT_RAW_ROOT = Path("data/01_raw")
DEFAULT_MIRROR = Path("..") / "shared" / "datasets"
_CHUNK = 1 << 20
_TIMEOUT_S = 60


@dataclass(frozen=True)
class DownloadSpec:
    """Where a corpus can be downloaded and how to verify it.

    ``archive_sha256``: checksum of the downloaded file (``None`` when unknown);
    ``member_sha256``: expected file name -> checksum, verified after extraction.
    """

    url: str
    archive_sha256: str | None = None
    member_sha256: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidate:
    description: str
    path: Path


def locate_raw_dir(
    corpus: str,
    expected_files: Sequence[str],
    *,
    raw_root: Path | str = DEFAULT_RAW_ROOT,
    mirror: Path | str | None = None,
    mirror_folder: str | None = None,
    download: DownloadSpec | None = None,
    allow_download: bool = False,
    download_note: str | None = None,
    gzip_ok: bool = False,
) -> Path:
    """Return the first folder holding all ``expected_files`` of ``corpus`` (see module doc).

    Raises :class:`RawDataNotFoundError` listing the expected files, every place searched (with
    the files missing from partial folders) and how to fix it. ``gzip_ok``: ``<name>.gz`` counts
    for ``<name>`` (for readers that read either). ``download_note`` (how to obtain
    the files, e.g. "requires registration at ...") is added to that message when given.
    """
    raw_dir = Path(raw_root) / corpus
    report: list[str] = []
    for candidate in [
        _Candidate("raw data folder", raw_dir),
        *_mirror_candidates(corpus, mirror, mirror_folder),
    ]:
        missing = missing_files(candidate.path, expected_files, gzip_ok=gzip_ok)
        if missing == []:
            logger.info(
                "corpus %r: raw files found in %s (%s)",
                corpus,
                candidate.path,
                candidate.description,
            )
            return candidate.path
        report.append(_describe_miss(candidate, missing, expected_files))
    if allow_download and download is not None:
        logger.info("corpus %r: downloading %s into %s", corpus, download.url, raw_dir)
        return download_raw(download, raw_dir)
    raise RawDataNotFoundError(
        _not_found_message(
            corpus,
            expected_files,
            report,
            raw_dir,
            mirror_folder or corpus,
            download,
            allow_download,
            download_note,
        )
    )


def _mirror_candidates(
    corpus: str, mirror: Path | str | None, mirror_folder: str | None
) -> list[_Candidate]:
    roots: list[tuple[str, Path]]
    if mirror is not None:
        roots = [("mirror argument", Path(mirror))]
    elif os.environ.get(MIRROR_ENV_VAR):
        roots = [(f"${MIRROR_ENV_VAR}", Path(os.environ[MIRROR_ENV_VAR]))]
    else:
        roots = _default_mirror_roots()
    folders = list(dict.fromkeys([mirror_folder or corpus, corpus]))
    seen: set[Path] = set()
    candidates = []
    for description, root in roots:
        for folder in folders:
            path = root / folder
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                candidates.append(_Candidate(f"mirror ({description})", path))
    return candidates


def _default_mirror_roots() -> list[tuple[str, Path]]:
    """``../shared/datasets`` from the working directory and from the project root."""
    cwd = Path.cwd()
    roots = [("default mirror, from the working directory", (cwd / DEFAULT_MIRROR).resolve())]
    project_root = _find_project_root(cwd)
    if project_root is not None and project_root != cwd:
        roots.append(
            ("default mirror, from the project root", (project_root / DEFAULT_MIRROR).resolve())
        )
    return roots


def _find_project_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def missing_files(
    folder: Path, expected_files: Sequence[str], *, gzip_ok: bool = False
) -> list[str] | None:
    """``None`` when the folder does not exist, else the expected files it lacks.

    With ``gzip_ok`` a file ``<name>.gz`` stands for ``<name>``.
    """
    if not folder.is_dir():
        return None
    return [
        name
        for name in expected_files
        if not (folder / name).is_file() and not (gzip_ok and (folder / f"{name}.gz").is_file())
    ]


def _describe_miss(
    candidate: _Candidate, missing: list[str] | None, expected_files: Sequence[str]
) -> str:
    where = f"{candidate.path} [{candidate.description}]"
    if missing is None:
        return f"{where}: no such folder"
    return f"{where}: partial, missing {len(missing)} of {len(expected_files)}: {_names(missing)}"


def _names(names: Sequence[str], limit: int = 25) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _not_found_message(
    corpus: str,
    expected_files: Sequence[str],
    report: list[str],
    raw_dir: Path,
    folder_name: str,
    download: DownloadSpec | None,
    allow_download: bool,
    download_note: str | None = None,
) -> str:
    if download is None:
        fetch = "no public download address is registered for this corpus"
    elif not allow_download:
        fetch = f"or enable the download (allow_download=True) from {download.url}"
    else:  # pragma: no cover - unreachable: allow_download with a spec downloads
        fetch = ""
    lines = [
        f"raw files of corpus {corpus!r} not found.",
        f"Expected files: {_names(list(expected_files))}",
        "Searched:",
        *(f"  - {line}" for line in report),
        "To fix: put the files in "
        f"{raw_dir}/, or set {MIRROR_ENV_VAR} to a folder containing {folder_name}/, "
        f"{fetch}.",
    ]
    if download_note:
        lines.append(f"How to obtain them: {download_note}")
    return "\n".join(lines)


# --- download ---------------------------------------------------------------------------------


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download_raw(spec: DownloadSpec, dest: Path | str) -> Path:
    """Download ``spec.url``, verify and extract it safely, and move the result to ``dest``.

    The archive is streamed to a temporary file beside ``dest``, its sha256 checked when known,
    its members checked (no absolute paths, no ``..``, no links leaving the folder) before
    anything is extracted into a temporary folder, the members' sha256 checked, and only then
    is the folder renamed to ``dest``. Any failure raises :class:`DownloadError` and leaves no
    partial ``dest``. ``dest`` must not exist or be empty.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DownloadError(
            f"refusing to download into {dest}: it already exists and is not empty; "
            "complete or remove it first"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = _fetch(spec, dest.parent)
    workdir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        _extract_safely(archive, workdir, spec.url)
        source = _verified_member_folder(workdir, spec)
        if dest.exists():
            dest.rmdir()  # empty, checked above
        source.rename(dest)
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    logger.info("downloaded %s into %s", spec.url, dest)
    return dest


def _fetch(spec: DownloadSpec, folder: Path) -> Path:
    """Stream ``spec.url`` into a temporary file in ``folder``; check its sha256 when known."""
    suffix = "".join(PurePosixPath(spec.url).suffixes[-2:]) or ".download"
    descriptor, name = tempfile.mkstemp(prefix=".download-", suffix=suffix, dir=folder)
    path = Path(name)
    digest = hashlib.sha256()
    try:
        with (
            os.fdopen(descriptor, "wb") as handle,
            urllib.request.urlopen(spec.url, timeout=_TIMEOUT_S) as response,
        ):
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                handle.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as error:
        path.unlink(missing_ok=True)
        raise DownloadError(f"download of {spec.url} failed: {error}") from error
    if spec.archive_sha256 and digest.hexdigest() != spec.archive_sha256.lower():
        path.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {spec.url}: sha256 {digest.hexdigest()}, "
            f"expected {spec.archive_sha256}"
        )
    return path


def _extract_safely(archive: Path, workdir: Path, url: str) -> None:
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                _check_tar_member(member, url)
            tar.extractall(workdir, members=members, filter="data")
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                _check_zip_member(info, url)
            zipped.extractall(workdir)
    else:
        raise DownloadError(f"{url} is neither a tar nor a zip archive")


def _check_member_name(name: str, url: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    first = path.parts[0] if path.parts else ""
    if path.is_absolute() or ":" in first:
        raise DownloadError(f"unsafe archive {url}: member {name!r} has an absolute path")
    if ".." in path.parts:
        raise DownloadError(f"unsafe archive {url}: member {name!r} leaves the target folder")
    return path


def _check_tar_member(member: tarfile.TarInfo, url: str) -> None:
    path = _check_member_name(member.name, url)
    if member.issym() or member.islnk():
        target = PurePosixPath(member.linkname)
        resolved = target if member.islnk() else path.parent / target
        if target.is_absolute() or _escapes(resolved):
            raise DownloadError(
                f"unsafe archive {url}: link {member.name!r} -> {member.linkname!r} "
                "points outside the target folder"
            )
    elif not (member.isfile() or member.isdir()):
        raise DownloadError(f"unsafe archive {url}: member {member.name!r} is a special file")


def _check_zip_member(info: zipfile.ZipInfo, url: str) -> None:
    _check_member_name(info.filename, url)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DownloadError(f"unsafe archive {url}: member {info.filename!r} is a symlink")


def _escapes(path: PurePosixPath) -> bool:
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False


def _verified_member_folder(workdir: Path, spec: DownloadSpec) -> Path:
    """The extracted folder holding every expected member, each with its expected sha256."""
    if not spec.member_sha256:
        return workdir
    folders = set()
    for name, expected in spec.member_sha256.items():
        found = [p for p in workdir.rglob(name) if p.is_file()]
        if len(found) != 1:
            raise DownloadError(
                f"{spec.url}: expected exactly one {name!r} in the archive, found {len(found)}"
            )
        actual = sha256_file(found[0])
        if actual != expected.lower():
            raise DownloadError(
                f"checksum mismatch for {name!r} from {spec.url}: sha256 {actual}, "
                f"expected {expected}"
            )
        folders.add(found[0].parent)
    if len(folders) != 1:
        raise DownloadError(
            f"{spec.url}: expected files are spread over several folders: {sorted(folders)}"
        )
    return folders.pop()
