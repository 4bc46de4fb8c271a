"""Fitted scikit-learn objects (TF-IDF features, linear baselines) as skops files: no pickle.

A pickle in ``data/`` runs any code it names when it is loaded, and ``data/`` folders get
copied between machines. ``skops.io`` stores the same objects as a zip of a JSON schema and
NumPy arrays, and rebuilds only types it is told to trust.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio
from kedro.io import AbstractDataset, DatasetError

from longtail_mltc.atomic_files import write_atomically
from longtail_mltc.linear.persistence import load_trusted, untrusted_types

from .local_file import LocalFile


class SkopsDataset(LocalFile, AbstractDataset[Any, Any]):
    """Save/load scikit-learn objects with ``skops.io``, trusting only skops' defaults plus
    :data:`longtail_mltc.linear.persistence.TRUSTED_TYPES` (``load_trusted``).

    A save that would need any other type to load back is refused before a byte is written;
    a file naming another type (``os.system``, ``builtins.eval``...) is refused before anything
    in it is built. Saves are atomic.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> Any:
        if not self._filepath.exists():
            raise DatasetError(f"no file at {self._filepath}: run the node that writes it first")
        try:
            return load_trusted(self._filepath.read_bytes(), str(self._filepath))
        except ValueError as err:
            raise DatasetError(str(err)) from err

    def save(self, data: Any) -> None:
        blob = sio.dumps(data, compression=zipfile.ZIP_DEFLATED)
        extra = untrusted_types(blob)
        if extra:
            raise DatasetError(
                f"{self._filepath}: the object holds types this dataset would refuse to load: "
                f"{extra}"
            )
        write_atomically(self._filepath, lambda tmp: tmp.write_bytes(blob))

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
