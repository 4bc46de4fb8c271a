"""kedro-datasets file datasets whose local saves are atomic (temporary sibling, fsync, rename).

kedro-datasets 9.x opens the target through fsspec and writes in place, so a save that fails
half way (data that does not serialise, a full disk, a killed process) leaves a truncated file
where the previous good one was. These subclasses keep every argument, preview and load of
their parent; only where the bytes of a local save go changes. Remote paths (``s3://`` ...)
are saved by the parent as before.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from kedro_datasets.text import TextDataset

from longtail_mltc.atomic_files import write_atomically

from .local_file import LocalFile


class _AtomicLocalSave(LocalFile):
    """Mixin for datasets whose ``save`` writes to ``self._get_save_path()`` once.

    ``save`` resolves the real path (a versioned one included, with its must-not-exist check),
    then runs the parent's own ``save`` while ``_get_save_path`` answers a temporary sibling,
    and renames that into place. One save at a time per dataset object, as Kedro runs them.
    """

    _protocol: str
    _atomic_tmp: PurePosixPath | None = None

    def _get_save_path(self) -> PurePosixPath:
        if self._atomic_tmp is not None:
            return self._atomic_tmp
        return super()._get_save_path()  # type: ignore[misc]

    def save(self, data: Any) -> None:
        # the parent's save without Kedro's logging/error wrapper, which wraps this one already
        parent_save = super().save.__wrapped__  # type: ignore[misc]
        if self._protocol != "file":
            parent_save(self, data)
            return

        def write(tmp: Path) -> None:
            self._atomic_tmp = PurePosixPath(tmp)
            try:
                parent_save(self, data)
            finally:
                self._atomic_tmp = None

        write_atomically(Path(self._get_save_path()), write)


class AtomicJSONDataset(_AtomicLocalSave, JSONDataset):
    """``json.JSONDataset`` with atomic local saves."""


class AtomicParquetDataset(_AtomicLocalSave, ParquetDataset):
    """``pandas.ParquetDataset`` with atomic local saves."""


class AtomicCSVDataset(_AtomicLocalSave, CSVDataset):
    """``pandas.CSVDataset`` with atomic local saves."""


class AtomicTextDataset(_AtomicLocalSave, TextDataset):
    """``text.TextDataset`` with atomic local saves."""


class AtomicMatplotlibDataset(LocalFile, MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` with atomic local saves, one image file at a time.

    A list or dict of figures (a folder of images) gets each image written atomically.
    """

    def _save_to_fs(self, full_key_path: str, plot: Any) -> None:
        parent_save = super()._save_to_fs
        if self._protocol != "file":
            parent_save(full_key_path, plot)
            return
        write_atomically(Path(full_key_path), lambda tmp: parent_save(str(tmp), plot))
