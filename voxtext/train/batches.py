"""Where the trainer's batches come from: the ``BatchSource`` protocol and ``SampledBatches``.

A batch source is iterated once per epoch and remembers how far it got, so a checkpoint can
hold its position and a resumed run continues with the very next batch. ``SampledBatches``
builds one from an indexable dataset, a batch sampler (``DurationBatchSampler``) and a
``collate_fn``; with ``num_workers > 0`` the items are loaded and collated in
``torch.utils.data.DataLoader`` worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import torch
from torch.utils.data import DataLoader, Dataset

from voxtext.train.loss import Batch


@runtime_checkable
class BatchSource(Protocol):
    """Batches for the trainer, epoch by epoch.

    After ``set_epoch(e)``, iterating yields epoch ``e``'s batches from the first; after
    ``load_state_dict(s)``, it yields the rest of the epoch ``s`` was saved in. ``state_dict()``
    taken after the trainer consumed k batches of an epoch resumes at batch k + 1.
    ``len()`` is the number of batches the current epoch has on this process (equal on every
    rank under DDP, or the ranks would fall out of step).
    """

    def __iter__(self) -> Iterator[Batch]: ...

    def __len__(self) -> int: ...

    def set_epoch(self, epoch: int) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class IndexBatchSampler(Protocol):
    """What ``SampledBatches`` needs of a sampler (``DurationBatchSampler`` is one)."""

    def remaining(self) -> list[list[int]]: ...

    def advance(self, count: int = 1) -> None: ...

    def __len__(self) -> int: ...

    def set_epoch(self, epoch: int) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Indexable(Protocol):
    def __getitem__(self, index: int) -> Any: ...

    def __len__(self) -> int: ...


class SampledBatches:
    """``collate_fn([dataset[i] for i in indices])`` for each ``indices`` the sampler gives.

    ``num_workers > 0`` loads batches in that many worker processes (``prefetch_factor``
    batches ahead each), overlapping the training step; ``pin_memory`` puts batches in
    page-locked memory so the copy to a GPU can overlap compute. The trainer may change both
    through ``set_loading`` (its ``num_workers``/``pin_memory`` policy). The position saved in
    ``state_dict`` counts batches handed to the trainer, not batches prefetched.
    """

    def __init__(
        self,
        dataset: Indexable,
        sampler: IndexBatchSampler,
        collate_fn: Callable[[list[Any]], Batch],
        *,
        num_workers: int = 0,
        pin_memory: bool = False,
        prefetch_factor: int = 2,
        seed: int = 0,
    ) -> None:
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.dataset, self.sampler, self.collate_fn = dataset, sampler, collate_fn
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.prefetch_factor, self.seed = prefetch_factor, seed

    def set_loading(self, num_workers: int | None, pin_memory: bool) -> None:
        """The trainer's loading policy (``voxtext.train.threads``): ``num_workers`` None
        keeps this source's own count."""
        if num_workers is not None:
            if num_workers < 0:
                raise ValueError(f"num_workers must be >= 0, got {num_workers}")
            self.num_workers = num_workers
        self.pin_memory = pin_memory

    def __iter__(self) -> Iterator[Batch]:
        remaining = self.sampler.remaining()
        if self.num_workers == 0 and not self.pin_memory:
            for indices in remaining:
                batch = self.collate_fn([self.dataset[i] for i in indices])
                self.sampler.advance()
                yield batch
            return
        for batch in self._loader(remaining):
            self.sampler.advance()
            yield batch

    def _loader(self, batches: list[list[int]]) -> DataLoader[Batch]:
        # An explicit generator: otherwise DataLoader draws its workers' base seed from the
        # global torch generator, and a resumed run would see different dropout masks.
        state = self.sampler.state_dict()
        generator = torch.Generator().manual_seed(
            hash((self.seed, state.get("epoch", 0), state.get("position", 0))) % 2**63
        )
        return DataLoader(
            _CollatedBatches(self.dataset, batches, self.collate_fn),
            batch_size=None,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            prefetch_factor=self.prefetch_factor if self.num_workers > 0 else None,
            generator=generator,
        )

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)


class _CollatedBatches(Dataset[Batch]):
    """Batch k of a fixed list, collated (what each DataLoader worker runs)."""

    def __init__(
        self, dataset: Indexable, batches: list[list[int]], collate_fn: Callable[[list[Any]], Batch]
    ) -> None:
        self.dataset, self.batches, self.collate_fn = dataset, batches, collate_fn

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> Batch:
        return self.collate_fn([self.dataset[i] for i in self.batches[index]])
