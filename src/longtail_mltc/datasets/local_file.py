"""The local file behind a project dataset, and its removal (a stale output of a failed run)."""

from __future__ import annotations

from pathlib import Path, PurePath

from longtail_mltc.atomic_files import remove_file


class LocalFile:
    """Mixin for datasets that keep their data in one file at ``self._filepath``.

    kedro-datasets classes also set ``self._protocol`` (``"file"`` on the local disk); the
    project's own datasets are always local. A versioned dataset's ``_filepath`` is a folder
    of versions: it is never removed.
    """

    _filepath: PurePath

    @property
    def local_path(self) -> Path | None:
        """The file this dataset reads and writes, or ``None`` where it is not on this disk."""
        if getattr(self, "_protocol", "file") != "file":
            return None
        return Path(self._filepath)

    def invalidate(self) -> Path | None:
        """Remove the file (e.g. an output a failed run would have replaced); the path removed,
        or ``None`` where there was no local file to remove."""
        path = self.local_path
        if path is None or not path.is_file():
            return None
        return path if remove_file(path) else None
