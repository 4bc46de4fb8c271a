"""Kedro datasets of this project (Kedro glue layer); every save is atomic.

kedro-datasets has no safetensors or plain-numpy dataset, and its file datasets write in place:
a failed save would leave a truncated file. Every dataset here writes a temporary sibling,
flushes it to disk and renames it into place (``longtail_mltc.atomic_files``), so a failed
run keeps the previous file and leaves no partial one behind.
"""

from .file_datasets import (
    AtomicCSVDataset,
    AtomicJSONDataset,
    AtomicMatplotlibDataset,
    AtomicParquetDataset,
    AtomicTextDataset,
)
from .local_file import LocalFile
from .numpy_dataset import NumpyDataset
from .safetensors_dataset import SafetensorsDataset
from .skops_dataset import SkopsDataset

__all__ = [
    "AtomicCSVDataset",
    "AtomicJSONDataset",
    "AtomicMatplotlibDataset",
    "AtomicParquetDataset",
    "AtomicTextDataset",
    "LocalFile",
    "NumpyDataset",
    "SafetensorsDataset",
    "SkopsDataset",
]
