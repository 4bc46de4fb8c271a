"""Equal-length column arrays with a pandas frame round trip (for parquet datasets)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

__all__ = ["ColumnRecords"]


def _column(name: str, value: Any, dtype: np.dtype) -> np.ndarray:
    """Read-only 1-D copy of ``value`` as ``dtype``; index columns must be integers ≥ 0."""
    raw = np.asarray(value)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {raw.shape}")
    if dtype.kind == "i":
        if raw.size and raw.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold integers, got dtype {raw.dtype}")
        if raw.size and raw.min() < 0:
            raise ValueError(f"{name} must be ≥ 0, found {raw.min()}")
    elif raw.size and not np.isin(raw, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1")
    out = np.array(raw, dtype=dtype)
    out.flags.writeable = False
    return out


class ColumnRecords:
    """Mixin for frozen dataclasses whose fields are the columns named in ``COLUMNS``."""

    COLUMNS: ClassVar[dict[str, np.dtype]]

    def __post_init__(self) -> None:
        lengths = set()
        for name, dtype in self.COLUMNS.items():
            column = _column(name, getattr(self, name), np.dtype(dtype))
            object.__setattr__(self, name, column)
            lengths.add(column.size)
        if len(lengths) > 1:
            raise ValueError(f"columns {list(self.COLUMNS)} have different lengths {lengths}")

    def __len__(self) -> int:
        return int(getattr(self, next(iter(self.COLUMNS))).size)

    def to_frame(self) -> pd.DataFrame:
        """One row per record, columns ``COLUMNS`` with their dtypes."""
        return pd.DataFrame({name: getattr(self, name).copy() for name in self.COLUMNS})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Self:
        """Inverse of :meth:`to_frame` (extra columns are ignored)."""
        missing = [name for name in cls.COLUMNS if name not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks columns {missing}; has {list(frame.columns)}")
        return cls(**{name: frame[name].to_numpy() for name in cls.COLUMNS})
