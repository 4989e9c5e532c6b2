"""``WriteSignal``: callbacks run after a catalog write commits (how the indexer is woken)."""

import threading
from collections.abc import Callable

Listener = Callable[[], object]


class WriteSignal:
    """A set of listeners, safe to change and fire from several threads."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def add(self, listener: Listener) -> None:
        """Call ``listener`` on every ``fire``."""
        with self._lock:
            self._listeners.append(listener)

    def remove(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no-op when it is not there)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def fire(self) -> None:
        """Call every listener (outside the lock: a listener may be slow)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
