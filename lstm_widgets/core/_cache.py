"""The one bounded cache of the package: least recently used entries go first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

_MISSING = object()


class LRUCache(Generic[V]):
    """A mapping that keeps at most ``maxsize`` entries, dropping the least recently used.

    Reading an entry (:meth:`get`, :meth:`get_or_make`) or writing it marks it as the most
    recent. ``maxsize`` may be changed at any time (0 keeps nothing).

    Parameters
    ----------
    maxsize : int
        Entries kept.

    Examples
    --------
    >>> cache = LRUCache(2)
    >>> cache["a"], cache["b"] = 1, 2
    >>> cache.get("a")
    1
    >>> cache["c"] = 3  # "b" was used least recently
    >>> list(cache)
    ['a', 'c']
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError(f"Expected maxsize >= 0, received {maxsize}.")
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self.maxsize = maxsize

    @property
    def maxsize(self) -> int:
        """Entries kept; lowering it drops the least recently used at once."""
        return self._maxsize

    @maxsize.setter
    def maxsize(self, value: int) -> None:
        self._maxsize = int(value)
        self._trim()

    def _trim(self) -> None:
        while len(self._data) > self._maxsize:
            self._data.popitem(last=False)

    def get(self, key: Hashable, default: V | None = None) -> V | None:
        """Return the entry of ``key`` (now the most recent), or ``default``."""
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            return default
        self._data.move_to_end(key)
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """Return the entry of ``key``, storing ``make()`` first when there is none."""
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            value = make()
            self[key] = value
        else:
            self._data.move_to_end(key)
        return value

    def __setitem__(self, key: Hashable, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        self._trim()

    def __getitem__(self, key: Hashable) -> V:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self):
        return iter(self._data)

    def clear(self) -> None:
        """Forget every entry."""
        self._data.clear()
