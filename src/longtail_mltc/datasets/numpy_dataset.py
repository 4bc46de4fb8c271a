"""Numeric arrays as ``.npz`` (several named arrays) without pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from longtail_mltc.atomic_files import write_atomically

from .local_file import LocalFile


class NumpyDataset(LocalFile, AbstractDataset[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """Save/load a ``dict[str, np.ndarray]`` as one compressed ``.npz`` (``allow_pickle=False``)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        if not self._filepath.exists():
            raise DatasetError(f"no arrays at {self._filepath}: run the node that writes it first")
        with np.load(self._filepath, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}

    def save(self, data: dict[str, np.ndarray]) -> None:
        if not isinstance(data, dict):
            raise DatasetError(f"{self._filepath}: expected a dict of numpy arrays")
        arrays = {k: np.asarray(v) for k, v in data.items()}
        for name, array in arrays.items():
            if array.dtype.hasobject:  # np.savez would pickle these silently
                raise DatasetError(
                    f"{self._filepath}: array {name!r} has dtype {array.dtype}; "
                    "expected numeric or fixed-width string arrays (no pickle)"
                )

        def write(tmp: Path) -> None:
            with tmp.open("wb") as handle:  # a handle: np.savez would append '.npz' to a path
                np.savez_compressed(handle, **arrays)

        write_atomically(self._filepath, write)

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
