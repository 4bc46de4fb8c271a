"""Kedro datasets this project needs that kedro-datasets does not ship (Kedro glue layer).

kedro-datasets has no safetensors or plain-numpy dataset; both are small and write atomically
(temporary file + rename) so a failed run never leaves a half-written file behind.
"""

from .numpy_dataset import NumpyDataset
from .safetensors_dataset import SafetensorsDataset

__all__ = ["NumpyDataset", "SafetensorsDataset"]
