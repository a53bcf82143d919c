"""The training loop: task-agnostic, with AMP, accumulation, schedules, checkpoints and DDP.

A task (ASR, text classification) supplies four things and gets a trained model back::

    from voxtext.train import (DurationBatchSampler, LossOutput, SampledBatches, Trainer,
                               TrainerConfig, float32_loss, load_checkpoint)

    def loss_fn(model, batch, generator) -> LossOutput:
        log_probs, out_lens = model(batch["features"], batch["lengths"])   # call model(...)
        with float32_loss():                                                # CTC in float32
            loss = F.ctc_loss(log_probs.float().transpose(0, 1), batch["targets"], out_lens,
                              batch["target_lengths"], reduction="sum", zero_infinity=True)
        return LossOutput(loss_sum=loss, units=len(batch["ids"]))           # sum + its count

    sampler = DurationBatchSampler(durations, max_batch_seconds=200, seed=cfg.seed)
    batches = SampledBatches(dataset, sampler, collate_fn, num_workers=2)
    trainer = Trainer(TrainerConfig(max_epochs=30, lr=1e-3, warmup_steps=500, metric="cer"),
                      model, loss_fn, batches, "runs/asr",
                      evaluate=lambda m: {"cer": dev_cer(m)},                # on rank 0
                      metadata=CheckpointMetadata("my-task", components, task_state))
    result = trainer.fit(resume=True)          # continues runs/asr if it has a checkpoint
    state_dict, metadata = load_checkpoint(result.best_checkpoint)

The pieces, one file each:

- ``loss``: ``LossOutput(loss_sum, units, stats)``, the ``LossFn`` signature, ``float32_loss``.
  The update follows (Σ loss_sum) / (Σ units) over every micro-batch of a step on every rank.
- ``config``: ``TrainerConfig`` (optimizer, length, schedule, precision, selection, saving).
- ``step``: one optimizer step: accumulation, normalisation, clipping, the NaN/inf guard.
- ``schedules``: constant, warmup-cosine, warmup-linear, noam as pure functions of the step.
- ``precision``: bf16 autocast (the default on CUDA, and on CPUs with native bf16 for tasks
  that vouch for it), fp16 with loss scaling, fp32.
- ``threads``: the thread and loader policy (intra-op threads, workers, pinned memory,
  OpenMP waiting), measured on the shared machines.
- ``sampler``: ``DurationBatchSampler`` (dynamic batches by padded duration, length buckets,
  DDP shards, weighted draws) and ``filter_by_length`` (reports everything it drops).
- ``batches``: the ``BatchSource`` protocol and ``SampledBatches`` (dataset + sampler +
  collate, optional DataLoader workers), with a saved position for exact resume.
- ``checkpoint``: atomic ``checkpoint-<step>/`` folders (``model.safetensors``,
  ``metadata.json``, ``trainer_state.pt``), ``latest``/``best`` pointers, pruning, loading.
- ``metadata``: ``CheckpointMetadata``, the one schema of what a task keeps in a checkpoint
  (``task``, ``components`` by role, ``task_state``); older formats converted by their task.
- ``averaging``: ``average_checkpoints`` of the last or best N, written as ``averaged/``.
- ``distributed``: torchrun process groups, DDP wrapping, collectives (no-ops in one process).
- ``reporting``: ``metrics.jsonl`` and the rich progress bar (rank 0 only).
- ``trainer``: ``Trainer.fit`` tying them together; ``TrainResult``.

Under ``torchrun`` every rank builds the same model, sampler (it shards itself) and Trainer;
only rank 0 evaluates, logs and writes checkpoints, and ``evaluate`` receives the unwrapped
model in eval mode under ``torch.no_grad`` and the training autocast (float32 when
``precision="auto"`` chose bf16 on a CPU, so the dev metric matches inference). Put what
inference needs (the provenance of every component, a feature normaliser's statistics) in
``metadata`` (a ``CheckpointMetadata``); put objects whose state changes during training in
``extra_state`` (anything with ``state_dict``/``load_state_dict``), which is saved with the
trainer state for resuming.
"""

from __future__ import annotations

from voxtext.train.averaging import average_checkpoints, write_averaged_checkpoint
from voxtext.train.batches import BatchSource, SampledBatches
from voxtext.train.checkpoint import (
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    resolve_checkpoint,
)
from voxtext.train.config import TrainerConfig
from voxtext.train.distributed import DistributedContext, init_distributed, shutdown_distributed
from voxtext.train.loss import Batch, LossFn, LossOutput, batch_ids, float32_loss, move_to_device
from voxtext.train.metadata import CheckpointMetadata
from voxtext.train.sampler import (
    DroppedItem,
    DurationBatchSampler,
    LengthFilterResult,
    filter_by_length,
)
from voxtext.train.schedules import lr_multiplier
from voxtext.train.trainer import Trainer, TrainResult

__all__ = [
    "Batch",
    "BatchSource",
    "CheckpointError",
    "CheckpointMetadata",
    "DistributedContext",
    "DroppedItem",
    "DurationBatchSampler",
    "LengthFilterResult",
    "LossFn",
    "LossOutput",
    "SampledBatches",
    "TrainResult",
    "Trainer",
    "TrainerConfig",
    "average_checkpoints",
    "batch_ids",
    "filter_by_length",
    "float32_loss",
    "init_distributed",
    "list_checkpoints",
    "load_checkpoint",
    "lr_multiplier",
    "move_to_device",
    "resolve_checkpoint",
    "shutdown_distributed",
    "write_averaged_checkpoint",
]
