"""A small thread-safe LRU memo for per-request work that repeats (rankings, query vectors).

What it holds must be a pure function of its key: callers put everything the value depends on
in the key (the indexes' ``version``, the query text and vectors, the ranking parameters), so a
hit returns exactly what recomputing would. Entries are never mutated after ``put``.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class LruMemo(Generic[Value]):
    """At most ``size`` values by key, least recently used dropped first; ``size`` 0 keeps none."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Value | None:
        """The value stored under ``key`` (now the most recently used), else None."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Value) -> None:
        """Store ``value`` under ``key``, dropping the least recently used beyond ``size``."""
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (the state the values were computed from changed)."""
        with self._lock:
            self._items.clear()
