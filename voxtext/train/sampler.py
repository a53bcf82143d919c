"""Dynamic batches by duration: ``DurationBatchSampler`` and ``filter_by_length``.

A batch's cost is its *padded* duration, ``len(batch) * max(duration)``: that is what the
model's tensors hold. Each epoch the sampler

1. draws the epoch's order from a generator seeded with ``(seed, epoch)``: a permutation, or,
   given per-item ``weights``, ``num_samples`` draws with replacement with p ∝ weight (the hook
   for group-balanced training);
2. cuts the order into buckets of ``bucket_size`` items and sorts each bucket by duration, so
   a batch holds utterances of similar length (little padding) yet differs from epoch to epoch;
3. packs each bucket greedily into batches of padded duration <= ``max_batch_seconds`` and at
   most ``max_batch_size`` items, then shuffles the order of the batches;
4. under DDP keeps a multiple of ``world_size`` batches (the few left over are dropped for this
   epoch, different ones each epoch) and gives rank r every ``world_size``-th, so every rank
   runs the same number of steps on disjoint items.

``state_dict()`` holds the epoch and the number of batches already consumed, which is all an
exact resume needs: the order itself is recomputed from the seed.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from voxtext.data.batching import pack_ascending
from voxtext.errors import ConfigError, DataError

logger = logging.getLogger("voxtext.train")


@dataclass(frozen=True)
class DroppedItem:
    """One item left out of training: its index, id, reason and a readable detail."""

    index: int
    item_id: str
    reason: str  # "too_short" | "too_long" | "invalid_duration" | "longer_than_batch"
    detail: str


@dataclass
class LengthFilterResult:
    """Indices kept (in their original order) and a record of every item dropped."""

    kept: list[int]
    dropped: list[DroppedItem] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Count of dropped items per reason."""
        return dict(Counter(item.reason for item in self.dropped))


def filter_by_length(
    durations: Sequence[float],
    min_s: float = 0.0,
    max_s: float = math.inf,
    *,
    ids: Sequence[str] | None = None,
) -> LengthFilterResult:
    """Keep items with ``min_s <= duration <= max_s``; report each one dropped and why."""
    if ids is not None and len(ids) != len(durations):
        raise ValueError(f"filter_by_length: {len(ids)} ids for {len(durations)} durations")
    result = LengthFilterResult(kept=[])
    for index, duration in enumerate(durations):
        item_id = str(ids[index]) if ids is not None else str(index)
        if not (math.isfinite(duration) and duration > 0):
            reason, detail = "invalid_duration", f"duration {duration!r} is not a positive number"
        elif duration < min_s:
            reason, detail = "too_short", f"{duration:.3f} s < min {min_s:.3f} s"
        elif duration > max_s:
            reason, detail = "too_long", f"{duration:.3f} s > max {max_s:.3f} s"
        else:
            result.kept.append(index)
            continue
        result.dropped.append(DroppedItem(index, item_id, reason, detail))
    return result


class DurationBatchSampler:
    """Yields lists of item indices whose padded duration fits ``max_batch_seconds``.

    ``oversized``: what to do with an item longer than ``max_batch_seconds`` on its own:
    ``"error"`` (default: a DataError listing them) or ``"drop"`` (left out, listed in
    ``self.dropped`` and logged). ``rank``/``world_size`` default to the running process group.
    """

    def __init__(
        self,
        durations: Sequence[float],
        max_batch_seconds: float,
        *,
        max_batch_size: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size: int = 2000,
        weights: Sequence[float] | None = None,
        num_samples: int | None = None,
        oversized: Literal["error", "drop"] = "error",
        ids: Sequence[str] | None = None,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        _check_arguments(durations, max_batch_seconds, max_batch_size, bucket_size, oversized)
        self.durations = np.asarray(durations, dtype=np.float64)
        self.max_batch_seconds = float(max_batch_seconds)
        self.max_batch_size = max_batch_size
        self.shuffle, self.seed, self.bucket_size = shuffle, seed, bucket_size
        self.rank, self.world_size = _rank_and_world(rank, world_size)
        eligible = filter_by_length(durations, 0.0, self.max_batch_seconds, ids=ids)
        self.dropped = [
            _as_longer_than_batch(item, self.max_batch_seconds)
            if item.reason == "too_long"
            else item
            for item in eligible.dropped
        ]
        if self.dropped and oversized == "error":
            raise DataError(
                f"DurationBatchSampler: {len(self.dropped)} item(s) cannot be batched (fix the "
                f"data, filter with filter_by_length, or pass oversized='drop')",
                [f"item {d.item_id}: {d.detail}" for d in self.dropped],
            )
        if self.dropped:
            logger.warning(
                "DurationBatchSampler drops %d item(s): %s",
                len(self.dropped),
                ", ".join(f"{d.item_id} ({d.detail})" for d in self.dropped[:20]),
            )
        self.eligible = np.asarray(eligible.kept, dtype=np.int64)
        self.probabilities = _probabilities(weights, len(self.durations), self.eligible)
        self.num_samples = num_samples if num_samples is not None else len(self.eligible)
        self.epoch = 0
        self.position = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    # -- the epoch's batches ---------------------------------------------------------------
    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of ``epoch``, in order (a pure function of seed and epoch)."""
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, epoch])
        order = self._order(rng)
        batches: list[list[int]] = []
        for start in range(0, len(order), self.bucket_size):
            bucket = order[start : start + self.bucket_size]
            bucket = bucket[np.argsort(self.durations[bucket], kind="stable")]
            batches.extend(self._pack(bucket))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        usable = len(batches) // self.world_size * self.world_size
        mine = batches[:usable][self.rank :: self.world_size]
        self._cache = (epoch, mine)
        return mine

    def _order(self, rng: np.random.Generator) -> np.ndarray:
        if self.probabilities is not None:
            return rng.choice(len(self.durations), self.num_samples, p=self.probabilities)
        return rng.permutation(self.eligible) if self.shuffle else self.eligible

    def _pack(self, sorted_indices: np.ndarray) -> list[list[int]]:
        """Greedy packing of ascending durations: a batch closes when one more item would push
        its padded duration (count x longest) over the limit."""
        return pack_ascending(
            sorted_indices.tolist(),
            self.durations[sorted_indices].tolist(),
            max_items=self.max_batch_size or None,
            max_padded=self.max_batch_seconds,
        )

    # -- iteration and state -----------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its first batch."""
        self.epoch, self.position = epoch, 0

    def remaining(self) -> list[list[int]]:
        """The batches of the current epoch not consumed yet."""
        return self.epoch_batches(self.epoch)[self.position :]

    def advance(self, count: int = 1) -> None:
        """Mark ``count`` more batches of the current epoch as consumed."""
        self.position += count

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.remaining():
            self.advance()
            yield batch

    def __len__(self) -> int:
        """Batches per epoch on this rank (for the current epoch: packing varies slightly)."""
        return len(self.epoch_batches(self.epoch))

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "seed": self.seed,
            "num_items": len(self.durations),
            "world_size": self.world_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("num_items", "world_size", "seed"):
            mine = self.state_dict()[key]
            if state.get(key, mine) != mine:
                raise ConfigError(
                    f"DurationBatchSampler: cannot resume exactly: the checkpoint's {key} is "
                    f"{state[key]}, this run's is {mine}; resume with the same data, seed and "
                    "number of processes, or start a new run from the weights"
                )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


def _check_arguments(
    durations: Sequence[float],
    max_batch_seconds: float,
    max_batch_size: int | None,
    bucket_size: int,
    oversized: str,
) -> None:
    if not max_batch_seconds > 0:
        raise ConfigError(f"max_batch_seconds must be > 0, got {max_batch_seconds}")
    if max_batch_size is not None and max_batch_size < 1:
        raise ConfigError(f"max_batch_size must be >= 1 or None, got {max_batch_size}")
    if bucket_size < 1:
        raise ConfigError(f"bucket_size must be >= 1, got {bucket_size}")
    if oversized not in ("error", "drop"):
        raise ConfigError(f"oversized must be 'error' or 'drop', got {oversized!r}")
    if len(durations) == 0:
        raise DataError("DurationBatchSampler: no items to batch (empty durations)")


def _as_longer_than_batch(item: DroppedItem, limit: float) -> DroppedItem:
    detail = f"{item.detail.split(' > ')[0]} alone exceeds max_batch_seconds {limit:.3f} s"
    return DroppedItem(item.index, item.item_id, "longer_than_batch", detail)


def _probabilities(
    weights: Sequence[float] | None, count: int, eligible: np.ndarray
) -> np.ndarray | None:
    """p ∝ weight over the eligible items (dropped items get p = 0)."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (count,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ConfigError(
            f"weights: need {count} finite non-negative numbers, one per item (got shape {w.shape})"
        )
    p = np.zeros(count)
    p[eligible] = w[eligible]
    if p.sum() <= 0:
        raise ConfigError("weights: all eligible items have weight 0")
    return p / p.sum()


def _rank_and_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    from voxtext.train.distributed import current_rank_and_world

    default_rank, default_world = current_rank_and_world()
    rank = default_rank if rank is None else rank
    world_size = default_world if world_size is None else world_size
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(f"rank {rank} is not in [0, world_size={world_size})")
    return rank, world_size
