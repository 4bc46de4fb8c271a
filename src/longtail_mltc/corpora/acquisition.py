"""Find a corpus's raw files, or download them safely (DESIGN "Raw data acquisition").

Search order:

1. ``<raw_root>/<corpus>/`` (default ``data/01_raw/<corpus>/``);
2. the mirror: the ``mirror`` argument, else ``$LONGTAIL_MLTC_MIRROR``, else
   ``../shared/datasets`` seen from the working directory or from the project root (the nearest
   parent of the working directory holding ``pyproject.toml``); inside it the corpus's
   ``mirror_folder`` (then ``<corpus>``);
3. the public download address: by default when the corpus has one with a recorded checksum
   (``allow_download=None``), never with ``allow_download=False``, and never over the network
   while ``$LONGTAIL_MLTC_OFFLINE`` is set (the test suite sets it). The download is capped, the
   archive's checksum verified before extraction, the archive extracted safely (paths checked,
   bytes, entries and compression ratio bounded by :class:`ArchiveLimits` while writing) into a
   temporary folder and renamed into ``<raw_root>/<corpus>/`` only once every check passed.

A folder counts only when it holds every expected file; otherwise the error lists the expected
files, every place searched with what was missing, and the one setting that downloads them (or
why no download was tried, or how it failed).
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import logging
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from longtail_mltc.corpora.errors import DownloadError, RawDataNotFoundError

__all__ = [
    "DEFAULT_RAW_ROOT",
    "MIRROR_ENV_VAR",
    "OFFLINE_ENV_VAR",
    "ArchiveLimits",
    "DownloadFailedError",
    "DownloadLimitError",
    "DownloadSpec",
    "download_raw",
    "locate_raw_dir",
    "missing_files",
    "offline_mode",
    "sha256_file",
]

logger = logging.getLogger(__name__)

MIRROR_ENV_VAR = "LONGTAIL_MLTC_MIRROR"
OFFLINE_ENV_VAR = "LONGTAIL_MLTC_OFFLINE"
_OFFLINE_OFF = frozenset({"", "0", "false", "no", "off"})
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

    @property
    def checksummed(self) -> bool:
        """Whether a checksum is recorded (of the archive or of its members): only such a
        download happens by default."""
        return bool(self.archive_sha256 or self.member_sha256)


def offline_mode() -> bool:
    """Whether ``$LONGTAIL_MLTC_OFFLINE`` forbids downloads over the network: any value but
    empty, ``0``, ``false``, ``no`` or ``off``. ``file://`` addresses (local files) stay allowed."""
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() not in _OFFLINE_OFF


def _over_network(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme.lower() != "file"


class DownloadFailedError(DownloadError):
    """The download address could not be fetched (no network, DNS, refused, HTTP error, or an
    error while saving); nothing was kept."""


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
    allow_download: bool | None = None,
    download_note: str | None = None,
    gzip_ok: bool = False,
    limits: ArchiveLimits | None = None,
) -> Path:
    """Return the first folder holding all ``expected_files`` of ``corpus`` (see module doc).

    Raises :class:`RawDataNotFoundError` listing the expected files, every place searched (with
    the files missing from partial folders) and how to fix it. ``gzip_ok``: ``<name>.gz`` counts
    for ``<name>`` (for readers that read either). ``download_note`` (how to obtain
    the files, e.g. "requires registration at ...") is added to that message when given.
    ``allow_download``: ``None`` (default) downloads when ``download`` has a recorded checksum,
    ``True`` whenever there is a ``download``, ``False`` never; ``$LONGTAIL_MLTC_OFFLINE``
    forbids a download over the network whatever this says. A failed download raises
    :class:`DownloadFailedError` (or the :class:`DownloadError` of a failed check) with the same
    report. ``limits`` bound a download (default :class:`ArchiveLimits()`).
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
    message = functools.partial(
        _not_found_message, corpus, expected_files, report, raw_dir, mirror_folder or corpus
    )
    if download is None:
        raise RawDataNotFoundError(message(_NO_ADDRESS, download_note))
    wanted = download.checksummed if allow_download is None else allow_download
    if not wanted:
        raise RawDataNotFoundError(message(_enable_hint(corpus, download, allow_download)))
    if offline_mode() and _over_network(download.url):
        raise RawDataNotFoundError(message(_offline_hint(download)))
    logger.info("corpus %r: downloading %s into %s", corpus, download.url, raw_dir)
    try:
        return download_raw(download, raw_dir, limits=limits)
    except DownloadFailedError as error:
        raise DownloadFailedError(message(_failed_hint(corpus, error), failed=True)) from error


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
    where = f"{candidate.path.absolute()} [{candidate.description}]"
    if missing is None:
        return f"{where}: no such folder"
    return f"{where}: partial, missing {len(missing)} of {len(expected_files)}: {_names(missing)}"


def _names(names: Sequence[str], limit: int = 25) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


_NO_ADDRESS = "no public download address is registered for this corpus"


def _enable_hint(corpus: str, download: DownloadSpec, allow_download: bool | None) -> str:
    why = (
        " (it has no recorded checksum, so it is not downloaded by default)"
        if allow_download is None
        else ""
    )
    return (
        f"or download them from {download.url}{why}: "
        f"`kedro run --params corpus_options.{corpus}.allow_download=true` "
        "(load_corpus(..., allow_download=True) in Python)"
    )


def _offline_hint(download: DownloadSpec) -> str:
    value = os.environ.get(OFFLINE_ENV_VAR, "")
    return (
        f"or download them from {download.url}: unset {OFFLINE_ENV_VAR}, whose value {value!r} "
        "forbids downloads over the network (the test suite sets it)"
    )


def _failed_hint(corpus: str, error: DownloadFailedError) -> str:
    return (
        f"or retry once the download works ({error}); to not try the download, run with "
        f"`--params corpus_options.{corpus}.allow_download=false` "
        "(allow_download=False in Python)"
    )


def _not_found_message(
    corpus: str,
    expected_files: Sequence[str],
    report: list[str],
    raw_dir: Path,
    folder_name: str,
    fetch: str,
    download_note: str | None = None,
    *,
    failed: bool = False,
) -> str:
    """Expected files, every place searched, and the fix: a folder, the mirror, or ``fetch``
    (the download setting, or why no download happened or how it failed)."""
    lines = [
        f"raw files of corpus {corpus!r} not found"
        + (", and downloading them failed." if failed else "."),
        f"Expected files: {_names(list(expected_files))}",
        "Searched:",
        *(f"  - {line}" for line in report),
        "To fix: put the files in "
        f"{raw_dir.absolute()}/, or set {MIRROR_ENV_VAR} to a folder containing "
        f"{folder_name}/, {fetch}.",
    ]
    if download_note:
        lines.append(f"How to obtain them: {download_note}")
    return "\n".join(lines)


# --- download ---------------------------------------------------------------------------------

_KIB = 1 << 10
_MIB = 1 << 20
_GIB = 1 << 30
_EXTRACT_CHUNK = 64 * _KIB  # small reads: the ratio check sees compressed input as it is used


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on a download and on what its archive may expand to (docs/corpora.md, "Download
    limits").

    - ``max_download_bytes``: the downloaded archive (16 GiB; Reuters-21578 is 8 MB);
    - ``max_extracted_bytes``: all bytes written while extracting (64 GiB; the full BioASQ
      yearly file, the largest corpus the project knows, is tens of GB);
    - ``max_members``: entries (files, folders, links) in the archive (1,000,000; Reuters has
      28, RCV1 as one file per document would have 806,791);
    - ``max_ratio``: bytes written per compressed byte (200). Checked against the archive's
      size, against the compressed bytes read so far, and for a zip member against its
      compressed size. Real corpora measure 2.2 to 8.9 (Delicious as bzip2), Delicious as a
      dense 0/1 table 60; a run of zeros compresses about 1,000:1 with deflate.
    - ``ratio_grace_bytes``: the ratio is checked only once more than this is written
      (1 MiB), as tiny files of padding compress far better than any corpus.

    Every value is checked while bytes are written, never taken from an archive's headers.
    """

    max_download_bytes: int = 16 * _GIB
    max_extracted_bytes: int = 64 * _GIB
    max_members: int = 1_000_000
    max_ratio: float = 200.0
    ratio_grace_bytes: int = 1 * _MIB

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any] | None, where: str = "download_limits"
    ) -> ArchiveLimits:
        """Limits from a configuration mapping (``None``: the defaults); ``where`` names the
        setting in errors. Unknown keys raise a ``ValueError`` listing the known ones."""
        values = dict(values or {})
        known = [item.name for item in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"{where}: unknown setting(s) {', '.join(unknown)}; expected some of "
                f"{', '.join(known)}"
            )
        return cls(**values)

    def __post_init__(self) -> None:
        for name in ("max_download_bytes", "max_extracted_bytes", "max_members", "max_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"ArchiveLimits.{name} must be a positive number, got {value!r}")
        grace = self.ratio_grace_bytes
        if isinstance(grace, bool) or not isinstance(grace, int) or grace < 0:
            raise ValueError(
                f"ArchiveLimits.ratio_grace_bytes must be a non-negative integer, got {grace!r}"
            )


class DownloadLimitError(DownloadError):
    """A download or its extraction went past one of :class:`ArchiveLimits`.

    ``setting``: the :class:`ArchiveLimits` field that was exceeded; ``limit``: its value (or
    the byte allowance derived from it); ``member``: the archive member being written, if any;
    ``written``: bytes written to disk when it stopped (never more than the allowance).
    """

    def __init__(
        self, message: str, *, setting: str, limit: float, written: int, member: str | None
    ) -> None:
        super().__init__(message)
        self.setting = setting
        self.limit = limit
        self.written = written
        self.member = member


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download_raw(
    spec: DownloadSpec, dest: Path | str, *, limits: ArchiveLimits | None = None
) -> Path:
    """Download ``spec.url``, verify and extract it safely, and move the result to ``dest``.

    The archive is streamed to a temporary file beside ``dest`` (at most
    ``limits.max_download_bytes``), its sha256 checked when known, then extracted member by
    member into a temporary folder beside ``dest``: every member's path is checked (no
    absolute paths, no ``..``, no links leaving the folder) before it is written, the bytes
    written are counted against ``limits`` (total, member count, compression ratio) and each
    expected member's sha256 is checked as soon as it is written. Only then is the folder
    renamed to ``dest``. Any failure raises :class:`DownloadError` (:class:`DownloadLimitError`
    for a limit) and leaves no partial ``dest`` and no temporary file. ``dest`` must not exist
    or be empty. ``limits`` defaults to :class:`ArchiveLimits()`. While
    ``$LONGTAIL_MLTC_OFFLINE`` is set, an address other than ``file://`` is refused before
    anything is written.
    """
    limits = limits or ArchiveLimits()
    dest = Path(dest)
    if offline_mode() and _over_network(spec.url):
        raise DownloadError(
            f"download of {spec.url} refused: {OFFLINE_ENV_VAR} is set, which forbids "
            "downloads over the network; unset it to download"
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DownloadError(
            f"refusing to download into {dest}: it already exists and is not empty; "
            "complete or remove it first"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = _fetch(spec, dest.parent, limits)
    try:
        workdir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
        try:
            digests = _extract_safely(archive, workdir, spec, limits)
            source = _verified_member_folder(workdir, spec, digests)
            if dest.exists():
                dest.rmdir()  # empty, checked above
            source.rename(dest)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        archive.unlink(missing_ok=True)
    logger.info("downloaded %s into %s", spec.url, dest)
    return dest


def _archive_name(url: str) -> str:
    return PurePosixPath(urllib.parse.urlsplit(url).path).name or url


def _number(value: float) -> str:
    """``1,048,576`` for whole numbers, ``2.5`` otherwise."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _raise_hint(setting: str) -> str:
    return (
        f"if the archive is trusted, raise ArchiveLimits.{setting}: the parameter "
        f"corpus_options.<corpus>.download_limits.{setting} for `kedro run`, or the `limits` "
        "argument of download_raw and locate_raw_dir"
    )


def _fetch(spec: DownloadSpec, folder: Path, limits: ArchiveLimits) -> Path:
    """Stream ``spec.url`` into a temporary file in ``folder``, at most
    ``limits.max_download_bytes``; check its sha256 when known. No partial file is left."""
    suffix = "".join(PurePosixPath(spec.url).suffixes[-2:]) or ".download"
    descriptor, name = tempfile.mkstemp(prefix=".download-", suffix=suffix, dir=folder)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            digest = _download_to(spec.url, handle, limits.max_download_bytes)
    except BaseException as error:
        path.unlink(missing_ok=True)
        if isinstance(error, DownloadError) or not isinstance(
            error, OSError | ValueError | http.client.HTTPException
        ):
            raise
        raise DownloadFailedError(f"download of {spec.url} failed: {error}") from error
    if spec.archive_sha256 and digest != spec.archive_sha256.lower():
        path.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {spec.url}: sha256 {digest}, expected {spec.archive_sha256}"
        )
    return path


def _download_to(url: str, handle: BinaryIO, cap: int) -> str:
    """Copy ``url`` into ``handle``, refusing more than ``cap`` bytes; the hex sha256."""
    digest = hashlib.sha256()
    written = 0
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > cap:
            raise _download_limit_error(url, cap, written, f"it announces {int(declared):,} bytes")
        while chunk := response.read(_CHUNK):
            if written + len(chunk) > cap:
                raise _download_limit_error(url, cap, written, "it sends more")
            handle.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def _download_limit_error(url: str, cap: int, written: int, why: str) -> DownloadLimitError:
    return DownloadLimitError(
        f"download of {_archive_name(url)} from {url} stopped: {why}, over the limit "
        f"max_download_bytes={cap:,} bytes ({written:,} bytes received, none kept); "
        f"{_raise_hint('max_download_bytes')}",
        setting="max_download_bytes",
        limit=cap,
        written=written,
        member=None,
    )


class _CountingFile(io.FileIO):
    """A read-only file that counts the bytes read from it: the compressed input used so far."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "r")
        self.consumed = 0

    def read(self, size: int = -1, /) -> bytes:
        data = super().read(size)
        self.consumed += len(data or b"")
        return data

    def readinto(self, buffer: Any, /) -> int:
        count = super().readinto(buffer) or 0
        self.consumed += count
        return count


class _Extraction:
    """Writes an archive's members into ``workdir``, counting every byte against ``limits``.

    Why by hand rather than ``extractall``: the standard extractors trust the sizes in the
    archive's headers and write a member whole before anything can look at it; here each
    64 KiB read is checked before it is written, so a bomb stops within its allowance.
    """

    def __init__(
        self, source: _CountingFile, workdir: Path, spec: DownloadSpec, limits: ArchiveLimits
    ) -> None:
        self.source = source
        self.archive_size = os.fstat(source.fileno()).st_size
        self.workdir = workdir
        self.spec = spec
        self.limits = limits
        self.label = f"archive {_archive_name(spec.url)} from {spec.url}"
        self.written = 0
        self.digests: dict[str, str] = {}

    def error(self, member: str, setting: str, limit: float, what: str) -> DownloadLimitError:
        """The error for ``member`` going past ``setting`` (``limit``: the allowance broken)."""
        written = self.written
        return DownloadLimitError(
            f"{self.label}: member {member!r}: {what}, over the limit "
            f"{setting}={_number(getattr(self.limits, setting))}; stopped after writing "
            f"{written:,} bytes, none kept; {_raise_hint(setting)}",
            setting=setting,
            limit=limit,
            written=written,
            member=member,
        )

    def check_count(self, count: int, member: str) -> None:
        """Raise when ``member``, the ``count``-th entry, is one too many."""
        limit = self.limits.max_members
        if count > limit:
            raise self.error(member, "max_members", limit, f"more than {limit:,} entries")

    def allow(self, member: str, member_written: int, size: int, compressed: int | None) -> None:
        """Raise unless ``size`` more bytes of ``member`` fit every limit (before writing)."""
        limits = self.limits
        total = self.written + size
        if total > limits.max_extracted_bytes:
            raise self.error(
                member,
                "max_extracted_bytes",
                limits.max_extracted_bytes,
                f"the extracted size would pass {limits.max_extracted_bytes:,} bytes",
            )
        if total <= limits.ratio_grace_bytes:
            return
        for allowance, what in (
            (limits.max_ratio * self.archive_size, f"the archive's {self.archive_size:,} bytes"),
            (limits.max_ratio * self.source.consumed, f"{self.source.consumed:,} bytes read"),
        ):
            if total > allowance:
                raise self.error(
                    member,
                    "max_ratio",
                    allowance,
                    f"{total:,} bytes from {what} would be more than {limits.max_ratio:g}:1",
                )
        member_total = member_written + size
        if compressed is not None and member_total > max(
            limits.ratio_grace_bytes, limits.max_ratio * compressed
        ):
            raise self.error(
                member,
                "max_ratio",
                limits.max_ratio * compressed,
                f"{member_total:,} bytes from its {compressed:,} compressed bytes would be "
                f"more than {limits.max_ratio:g}:1",
            )

    def write_file(
        self, reader: BinaryIO, rel: PurePosixPath, member: str, compressed: int | None
    ) -> None:
        """Stream ``reader`` into ``workdir/rel`` within the limits; check its sha256."""
        target = self.workdir.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        member_written = 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        with os.fdopen(os.open(target, flags, 0o644), "wb") as out:
            while chunk := reader.read(_EXTRACT_CHUNK):
                self.allow(member, member_written, len(chunk), compressed)
                out.write(chunk)
                digest.update(chunk)
                member_written += len(chunk)
                self.written += len(chunk)
        self.digests[rel.as_posix()] = digest.hexdigest()
        self._check_expected(rel.as_posix(), digest.hexdigest())

    def _check_expected(self, rel: str, actual: str) -> None:
        for name, expected in self.spec.member_sha256.items():
            if _matches(rel, name) and actual != expected.lower():
                raise DownloadError(
                    f"checksum mismatch for {name!r} from {self.spec.url}: sha256 {actual}, "
                    f"expected {expected}"
                )

    def extract_tar(self, tar: tarfile.TarFile) -> None:
        links: list[tuple[tarfile.TarInfo, PurePosixPath]] = []
        count = 0
        while (member := tar.next()) is not None:
            count += 1
            self.check_count(count, member.name)
            rel = _check_tar_member(member, self.spec.url)
            if member.isdir():
                self.workdir.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
            elif member.issym():
                links.append((member, rel))  # made last: no file is written through a link
            elif member.islnk():
                self._copy_hard_link(member, rel)
            else:
                reader = tar.extractfile(member)
                if reader is None:  # pragma: no cover - regular files have data, checked above
                    raise DownloadError(f"{self.label}: member {member.name!r} has no data")
                with reader:
                    self.write_file(reader, rel, member.name, None)
        for member, rel in links:
            self._make_symlink(member, rel)

    def _copy_hard_link(self, member: tarfile.TarInfo, rel: PurePosixPath) -> None:
        """A hard link becomes a counted copy of the file it names, extracted earlier."""
        target = _check_member_name(member.linkname, self.spec.url)
        if target.as_posix() not in self.digests:
            raise DownloadError(
                f"unsafe archive {self.spec.url}: hard link {member.name!r} -> "
                f"{member.linkname!r} names no file extracted before it"
            )
        with open(self.workdir.joinpath(*target.parts), "rb") as reader:
            self.write_file(reader, rel, member.name, None)

    def _make_symlink(self, member: tarfile.TarInfo, rel: PurePosixPath) -> None:
        # tarfile's "data" filter resolves the real paths, links made so far included.
        try:
            tarfile.data_filter(member, str(self.workdir))
        except tarfile.FilterError as error:
            raise DownloadError(
                f"unsafe archive {self.spec.url}: link {member.name!r} -> {member.linkname!r} "
                f"points outside the target folder ({error})"
            ) from error
        target = self.workdir.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(member.linkname, target)

    def extract_zip(self, zipped: zipfile.ZipFile) -> None:
        infos = zipped.infolist()
        if len(infos) > self.limits.max_members:  # the central directory is already read
            self.check_count(len(infos), infos[self.limits.max_members].filename)
        paths = [_check_zip_member(info, self.spec.url) for info in infos]
        for info, rel in zip(infos, paths, strict=True):
            if info.is_dir():
                self.workdir.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True)
                continue
            if not rel.parts:
                raise DownloadError(f"unsafe archive {self.spec.url}: a file member has no name")
            with zipped.open(info) as reader:
                self.write_file(reader, rel, info.filename, info.compress_size)


def _extract_safely(
    archive: Path, workdir: Path, spec: DownloadSpec, limits: ArchiveLimits
) -> dict[str, str]:
    """Extract ``archive`` into ``workdir`` within ``limits``; the sha256 of every file written,
    by its path relative to ``workdir``."""
    with _CountingFile(archive) as source:
        extraction = _Extraction(source, workdir, spec, limits)
        try:
            if tarfile.is_tarfile(archive):
                with tarfile.open(fileobj=source, mode="r:*") as tar:
                    extraction.extract_tar(tar)
            elif zipfile.is_zipfile(archive):
                with zipfile.ZipFile(source) as zipped:
                    extraction.extract_zip(zipped)
            else:
                raise DownloadError(f"{spec.url} is neither a tar nor a zip archive")
        except DownloadError:
            raise
        except (
            OSError,
            EOFError,
            RuntimeError,
            ValueError,
            tarfile.TarError,
            zipfile.BadZipFile,
            zlib.error,
            lzma.LZMAError,
        ) as error:
            raise DownloadError(f"{extraction.label} could not be extracted: {error}") from error
    return extraction.digests


def _check_member_name(name: str, url: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    first = path.parts[0] if path.parts else ""
    if path.is_absolute() or ":" in first:
        raise DownloadError(f"unsafe archive {url}: member {name!r} has an absolute path")
    if ".." in path.parts:
        raise DownloadError(f"unsafe archive {url}: member {name!r} leaves the target folder")
    return path


def _check_tar_member(member: tarfile.TarInfo, url: str) -> PurePosixPath:
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
    return path


def _check_zip_member(info: zipfile.ZipInfo, url: str) -> PurePosixPath:
    path = _check_member_name(info.filename, url)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DownloadError(f"unsafe archive {url}: member {info.filename!r} is a symlink")
    return path


def _escapes(path: PurePosixPath) -> bool:
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False


def _matches(rel: str, name: str) -> bool:
    """Whether the extracted file ``rel`` is the expected member ``name`` (at any depth)."""
    return rel == name or rel.endswith("/" + name)


def _verified_member_folder(workdir: Path, spec: DownloadSpec, digests: Mapping[str, str]) -> Path:
    """The extracted folder holding every expected member, each with its expected sha256.

    ``digests``: the sha256 of every file written, computed while extracting.
    """
    if not spec.member_sha256:
        return workdir
    folders = set()
    for name, expected in spec.member_sha256.items():
        found = [rel for rel in digests if _matches(rel, name)]
        if len(found) != 1:
            raise DownloadError(
                f"{spec.url}: expected exactly one {name!r} in the archive, found {len(found)}"
            )
        actual = digests[found[0]]
        if actual != expected.lower():  # pragma: no cover - checked as each file is written
            raise DownloadError(
                f"checksum mismatch for {name!r} from {spec.url}: sha256 {actual}, "
                f"expected {expected}"
            )
        folders.add(PurePosixPath(found[0]).parent)
    if len(folders) != 1:
        raise DownloadError(
            f"{spec.url}: expected files are spread over several folders: "
            f"{sorted(str(workdir.joinpath(*f.parts)) for f in folders)}"
        )
    return workdir.joinpath(*folders.pop().parts)
