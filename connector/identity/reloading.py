"""A value loaded from a file and reloaded when the file changes.

Used for the trust list and the key ring: a removal from the trust list or a key rotation must
apply on the next request without restarting the connector. One `stat` per use costs a few
microseconds; files are always replaced atomically, so a new inode means a new version.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class FileBacked(Generic[T]):
    """`get()` returns `load(path)`, re-running it only when the file's identity changes.

    A failed load is not cached: the error propagates and the next call tries again.
    """

    def __init__(self, path: Path, load: Callable[[Path], T]) -> None:
        self.path = path
        self._load = load
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._value: T | None = None

    def get(self) -> T:
        """The current value (FileNotFoundError if the file is missing)."""
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp or self._value is None:
                self._value = self._load(self.path)
                self._stamp = stamp
            return self._value

    def invalidate(self) -> None:
        """Forget the cached value; the next `get()` loads again."""
        with self._lock:
            self._stamp = None
            self._value = None
