"""DurationBatchSampler and filter_by_length."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from voxtext.errors import ConfigError, DataError
from voxtext.train import DurationBatchSampler, filter_by_length


def _durations(count: int = 500, seed: int = 0) -> list[float]:
    return np.random.default_rng(seed).uniform(0.5, 12.0, count).round(3).tolist()


def test_every_batch_fits_and_every_item_comes_once_per_epoch() -> None:
    durations = _durations()
    sampler = DurationBatchSampler(durations, 40.0, max_batch_size=8, seed=1, bucket_size=100)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        for batch in batches:
            assert len(batch) * max(durations[i] for i in batch) <= 40.0
            assert len(batch) <= 8
        assert sorted(i for b in batches for i in b) == list(range(len(durations)))


def test_buckets_keep_similar_lengths_together() -> None:
    durations = _durations()
    sampler = DurationBatchSampler(durations, 60.0, bucket_size=500)
    padded = sum(len(b) * max(durations[i] for i in b) for b in sampler)
    assert padded < 1.1 * sum(durations)  # under 10 % padding
    unbucketed = DurationBatchSampler(durations, 60.0, bucket_size=1)
    assert len(sampler) < 0.6 * len(unbucketed)


def test_order_depends_only_on_seed_and_epoch() -> None:
    durations = _durations()

    def order(seed: int, epoch: int) -> list[list[int]]:
        sampler = DurationBatchSampler(durations, 30.0, seed=seed, bucket_size=100)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert order(3, 2) == order(3, 2)
    assert order(3, 2) != order(3, 1)
    assert order(3, 2) != order(4, 2)


def test_unshuffled_order_is_the_same_every_epoch() -> None:
    sampler = DurationBatchSampler(_durations(50), 20.0, shuffle=False)
    first = list(sampler)
    sampler.set_epoch(5)
    assert list(sampler) == first


def test_state_dict_resumes_at_the_next_batch() -> None:
    durations = _durations()
    sampler = DurationBatchSampler(durations, 30.0, seed=7)
    sampler.set_epoch(4)
    iterator = iter(sampler)
    consumed = [next(iterator) for _ in range(5)]
    state = sampler.state_dict()
    rest = list(iterator)
    resumed = DurationBatchSampler(durations, 30.0, seed=7)
    resumed.load_state_dict(state)
    assert list(resumed) == rest
    assert consumed + rest == DurationBatchSampler(durations, 30.0, seed=7).epoch_batches(4)


def test_resume_refuses_different_data_or_world_size() -> None:
    state = DurationBatchSampler(_durations(), 30.0).state_dict()
    with pytest.raises(ConfigError, match="num_items is 500, this run's is 499"):
        DurationBatchSampler(_durations(499), 30.0).load_state_dict(state)
    with pytest.raises(ConfigError, match="world_size"):
        DurationBatchSampler(_durations(), 30.0, rank=0, world_size=2).load_state_dict(state)


@pytest.mark.parametrize("world_size", [2, 3])
def test_ddp_shards_are_disjoint_equal_and_cover_all_but_the_remainder(world_size: int) -> None:
    durations = _durations()
    full = DurationBatchSampler(durations, 30.0, seed=2).epoch_batches(1)
    shards = [
        DurationBatchSampler(durations, 30.0, seed=2, rank=r, world_size=world_size).epoch_batches(
            1
        )
        for r in range(world_size)
    ]
    assert len({len(s) for s in shards}) == 1 and len(shards[0]) == len(full) // world_size
    seen = [i for shard in shards for batch in shard for i in batch]
    assert len(seen) == len(set(seen))
    left_over = full[len(full) // world_size * world_size :]
    assert sorted(seen + [i for b in left_over for i in b]) == list(range(len(durations)))


def test_too_long_items_raise_or_are_dropped_with_a_report() -> None:
    durations = [1.0, 50.0, 2.0, float("nan")]
    with pytest.raises(DataError, match="2 item.*oversized='drop'") as info:
        DurationBatchSampler(durations, 10.0, ids=["a", "b", "c", "d"])
    assert any("item b: 50.000 s alone exceeds" in p for p in info.value.problems)
    sampler = DurationBatchSampler(durations, 10.0, oversized="drop", ids=["a", "b", "c", "d"])
    assert {(d.item_id, d.reason) for d in sampler.dropped} == {
        ("b", "longer_than_batch"),
        ("d", "invalid_duration"),
    }
    assert sorted(i for b in sampler for i in b) == [0, 2]


def test_weights_draw_items_in_proportion() -> None:
    durations = [1.0] * 4
    sampler = DurationBatchSampler(durations, 4.0, weights=[1, 1, 2, 0], num_samples=8000, seed=0)
    counts = Counter(i for b in sampler for i in b)
    assert counts[3] == 0
    assert counts[2] / 8000 == pytest.approx(0.5, abs=0.03)
    assert counts[0] / 8000 == pytest.approx(0.25, abs=0.03)
    with pytest.raises(ConfigError, match="weights: need 4"):
        DurationBatchSampler(durations, 4.0, weights=[1, 2])


def test_filter_by_length_reports_everything_it_drops() -> None:
    result = filter_by_length([0.2, 3.0, 25.0, -1.0, 5.0], 0.5, 20.0, ids=list("abcde"))
    assert result.kept == [1, 4]
    assert [(d.item_id, d.reason) for d in result.dropped] == [
        ("a", "too_short"),
        ("c", "too_long"),
        ("d", "invalid_duration"),
    ]
    assert result.summary() == {"too_short": 1, "too_long": 1, "invalid_duration": 1}
    assert "25.000 s > max 20.000 s" in result.dropped[1].detail
