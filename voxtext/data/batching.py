"""Batches of items sorted by length, so a batch pads little: greedy packing by count and by
padded size, used by the training sampler and by inference alike."""

from __future__ import annotations

from collections.abc import Sequence


def pack_ascending(
    indices: Sequence[int],
    lengths: Sequence[float],
    *,
    max_items: int | None = None,
    max_padded: float | None = None,
) -> list[list[int]]:
    """Greedy packing of ``indices`` in the order given (ascending ``lengths``, one length per
    index): a batch closes when one more item would make it hold more than ``max_items`` or
    push its padded size (count x longest length) over ``max_padded``; an item longer than
    ``max_padded`` gets a batch of its own."""
    batches: list[list[int]] = []
    current: list[int] = []
    for index, length in zip(indices, lengths, strict=True):
        full = max_items is not None and len(current) >= max_items
        too_long = max_padded is not None and (len(current) + 1) * length > max_padded
        if current and (full or too_long):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def length_sorted_batches(
    lengths: Sequence[float], *, max_items: int | None = None, max_padded: float | None = None
) -> list[list[int]]:
    """Indices ordered from shortest to longest length, packed by :func:`pack_ascending`."""
    if max_items is not None and max_items <= 0:
        raise ValueError(f"max_items must be positive, got {max_items}")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return pack_ascending(
        order, [lengths[i] for i in order], max_items=max_items, max_padded=max_padded
    )
