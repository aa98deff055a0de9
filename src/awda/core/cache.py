"""Small per-process caches with a time-to-live, for reads every API request repeats.

What is kept here is allowed to be a few seconds stale in *other* processes: a write made
in this process drops its own entry at once (``invalidate``), and every other process sees
it when the entry's time is up. Each cache says in its docstring what that staleness means.
Web processes stay stateless in the sense that matters: nothing here is ever the only copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_registry: list[LocalCache[object, object]] = []
_registry_lock = threading.Lock()


class LocalCache(Generic[K, V]):
    """A bounded mapping whose entries expire ``ttl`` seconds after they were loaded."""

    def __init__(self, name: str, *, ttl: float, max_entries: int = 10_000) -> None:
        self.name = name
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        with _registry_lock:
            _registry.append(self)  # type: ignore[arg-type]

    def get_or_load(self, key: K, load: Callable[[], V | None]) -> V | None:
        """The cached value for ``key``, or ``load()``'s: kept for ``ttl`` seconds unless it is
        None (an unknown key is asked again next time, so misses can't fill the cache)."""
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if value is not None and self.ttl > 0:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # crude, but bounded; a full cache is a rare event
            self._entries[key] = (now + self.ttl, value)
        return value

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def clear_all() -> None:
    """Empty every cache of this process (tests call this between cases)."""
    for cache in list(_registry):
        cache.clear()
