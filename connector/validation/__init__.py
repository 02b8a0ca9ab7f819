"""Models beside the field's reference tools and published figures (`gemello validate`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def floats(table: pa.Table, name: str) -> np.ndarray:
    """A table's column as float64 (nulls become NaN)."""
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
