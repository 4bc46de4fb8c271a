"""Model weights (a torch state_dict) in the safetensors format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from kedro.io import AbstractDataset, DatasetError
from safetensors.torch import load_file, save_file

from longtail_mltc.atomic_files import write_atomically

from .local_file import LocalFile


class SafetensorsDataset(
    LocalFile, AbstractDataset[dict[str, torch.Tensor], dict[str, torch.Tensor]]
):
    """Save/load a ``dict[str, Tensor]`` as one ``.safetensors`` file (no pickle involved)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, torch.Tensor]:
        if not self._filepath.exists():
            raise DatasetError(f"no model weights at {self._filepath}: run the training node first")
        return load_file(str(self._filepath))

    def save(self, data: dict[str, torch.Tensor]) -> None:
        if not isinstance(data, dict) or not all(
            isinstance(v, torch.Tensor) for v in data.values()
        ):
            raise DatasetError(f"{self._filepath}: expected a dict of tensors (a state_dict)")
        tensors = {k: v.detach().cpu().contiguous() for k, v in data.items()}
        write_atomically(self._filepath, lambda tmp: save_file(tensors, str(tmp)))

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
