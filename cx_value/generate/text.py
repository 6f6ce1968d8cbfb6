"""Vectorised conversion of numbers to the text the raw exports carry."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY = 86_400
HOUR = 3_600

ID_WIDTHS: dict[str, int] = {
    "c": 7,  # customers
    "p": 8,  # contacts (persons)
    "d": 8,  # deals
    "o": 9,  # orders
    "l": 10,  # order lines
    "s": 8,  # subscriptions
    "t": 9,  # tickets
    "f": 7,  # referrals
    "r": 10,  # survey responses
    "e": 11,  # web events
    "a": 9,  # anonymous ids
    "u": 3,  # sales reps
    "prd": 4,  # products
}


_DIGITS4 = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode("ascii"),
                         dtype=np.uint32)


def fixed_width_text(numbers: np.ndarray, width: int, prefix: str = "",
                     suffix: str = "") -> pa.Array:
    """Non-negative integers as zero-padded text of ``width`` digits between prefix and suffix.

    Built directly as one byte buffer (every value has the same length), four digits at a
    time from a lookup table, which is much faster than formatting value by value.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    n = numbers.size
    if n and (numbers.min() < 0 or numbers.max() >= 10 ** width):
        raise ValueError(f"numbers do not fit in {width} digits")
    head, tail = prefix.encode("ascii"), suffix.encode("ascii")
    limbs = -(-width // 4)
    groups = np.empty((limbs, n), dtype=np.uint32)
    small = not n or numbers.max() < 2**32
    rest = numbers.astype(np.uint32) if small else numbers
    base = np.uint32(10_000) if small else np.int64(10_000)
    for j in range(limbs - 1, -1, -1):
        rest, low = np.divmod(rest, base)
        np.take(_DIGITS4, low, out=groups[j])
    digits = np.ascontiguousarray(groups.T).view(np.uint8)[:, 4 * limbs - width:]
    length = len(head) + width + len(tail)
    buf = np.empty((n, length), dtype=np.uint8)
    if head:
        buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    buf[:, len(head): len(head) + width] = digits
    if tail:
        buf[:, len(head) + width:] = np.frombuffer(tail, dtype=np.uint8)
    offsets = np.arange(n + 1, dtype=np.int32) * length
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def ids(prefix: str, numbers: np.ndarray, suffix: str = "") -> pa.Array:
    """Ids like ``c0000123``: prefix plus zero-padded number (lower case)."""
    return fixed_width_text(numbers, ID_WIDTHS[prefix], prefix, suffix)


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """UTC seconds since the epoch as ``YYYY-MM-DD HH:MM:SS``; null where not ``valid``."""
    arr = pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s"),
                   mask=None if valid is None else ~np.asarray(valid, dtype=bool))
    return pc.cast(arr, pa.string())


def dates(days: np.ndarray) -> pa.Array:
    """Days since the epoch as ``YYYY-MM-DD``."""
    return pc.cast(pa.array(np.asarray(days, dtype=np.int32), pa.date32()), pa.string())


def integers(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Integers as text; null where not ``valid``."""
    arr = pa.array(np.asarray(values, dtype=np.int64),
                   mask=None if valid is None else ~np.asarray(valid, dtype=bool))
    return pc.cast(arr, pa.string())


def money(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Non-negative amounts in cents as euros with two decimals, e.g. ``12.50``."""
    cents = np.asarray(cents, dtype=np.int64)
    if cents.size and cents.min() < 0:
        raise ValueError("money() formats non-negative amounts only")
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    out = pc.binary_join_element_wise(whole, frac, ".")
    if valid is not None:
        out = pc.if_else(pa.array(np.asarray(valid, dtype=bool)), out,
                         pa.nulls(len(out), pa.string()))
    return out


def booleans(values: np.ndarray) -> pa.Array:
    """Booleans as ``true``/``false``."""
    return pick(("false", "true"), np.asarray(values, dtype=np.int8))


def pick(vocabulary: Sequence[str | None], codes: np.ndarray) -> pa.Array:
    """Vocabulary entries by integer code (None entries become nulls)."""
    return pa.array(list(vocabulary), pa.string()).take(
        pa.array(np.asarray(codes, dtype=np.int64)))


def blank(n: int) -> pa.Array:
    """A column of nulls (empty optional values)."""
    return pa.nulls(n, pa.string())


def loaded_at(latest: np.ndarray, rng: np.random.Generator, cap: int,
              min_hours: float = 1.0, max_hours: float = 30.0) -> np.ndarray:
    """Export time of clean rows: latest timestamp of the row plus some hours, capped."""
    latest = np.asarray(latest, dtype=np.int64)
    lag = rng.integers(int(min_hours * HOUR), int(max_hours * HOUR), size=latest.size)
    return np.maximum(np.minimum(latest + lag, cap), latest)
