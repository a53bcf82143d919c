"""``TrainerConfig``: every knob of the training loop, validated when it is built.

Build it from a mapping (a TOML table, ``--set train.lr=3e-4``) with
``voxtext.config.build_config(TrainerConfig, values, where="train")``: unknown fields, wrong
types and inconsistent values come back as one ``ConfigError`` naming each field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Schedule = Literal["constant", "warmup-cosine", "warmup-linear", "noam"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Device = Literal["auto", "cpu", "cuda"]
MetricMode = Literal["min", "max"]


@dataclass(frozen=True)
class TrainerConfig:
    """Settings of ``Trainer``. Steps are optimizer steps (one per ``grad_accum_steps`` batches).

    Stopping: ``max_steps`` and/or ``max_epochs`` (whichever comes first); early stopping after
    ``early_stopping_patience`` evaluations without improvement of ``metric``.
    Evaluation and checkpoints happen together, every ``eval_every_steps`` steps (``None``: at
    the end of every epoch) and at the end of training.

    Threads and loading (``voxtext.train.threads`` has the measurements): ``threads=0`` caps
    torch's intra-op threads at this process's CPUs shared by the local ranks, ``N`` sets N,
    ``None`` leaves them; ``num_workers`` overrides the batch source's loader processes;
    ``pin_memory`` (None: on CUDA) page-locks batches so the copy to the GPU overlaps compute.
    ``import voxtext`` makes idle OpenMP threads sleep (``OMP_WAIT_POLICY=PASSIVE``), which
    kept 2-thread steps from slowing 7x beside another job.
    """

    # optimizer (AdamW; weight decay applies to matrices only, not to biases and norm gains)
    lr: float = 1e-3  # with schedule "noam" a scale factor: the peak is lr / sqrt(d_model * warmup)
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-8
    weight_decay: float = 0.01
    fused: bool | None = None  # None: fused AdamW on CUDA and CPU (several times faster)
    # length of training
    max_steps: int | None = None
    max_epochs: int | None = None
    grad_accum_steps: int = 1
    clip_norm: float | None = 1.0
    # learning-rate schedule (see voxtext.train.schedules)
    schedule: Schedule = "warmup-cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    d_model: int | None = None  # required by "noam"
    # numerics and hardware
    precision: Precision = "auto"  # bf16 on CUDA; on CPUs see voxtext.train.precision
    device: Device = "auto"
    seed: int = 0
    max_consecutive_skips: int = 10  # non-finite losses/gradients in a row before giving up
    ddp_find_unused_parameters: bool = False
    # threads and data loading (the policy and its measurements: voxtext.train.threads)
    threads: int | None = 0  # intra-op threads; 0: the cores this process may use / local ranks
    num_workers: int | None = None  # loader processes of SampledBatches; None: the data config's
    pin_memory: bool | None = None  # page-locked batches for the copy to the GPU; None: on CUDA
    # evaluation, model selection and checkpoints
    eval_every_steps: int | None = None
    metric: str = "train_loss"
    metric_mode: MetricMode = "min"
    early_stopping_patience: int | None = None
    keep_last: int = 3
    average_last_n: int = 0
    average_best_n: int = 0
    # reporting
    log_every_steps: int = 10
    progress: bool = True

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))


def _problems(c: TrainerConfig) -> list[str]:
    """Every inconsistent value, each as 'field: what is wrong (what to do)'."""
    problems = []
    if c.max_steps is None and c.max_epochs is None:
        problems.append("max_steps/max_epochs: set at least one, e.g. max_steps=10000")
    positive = {
        "lr": c.lr,
        "eps": c.eps,
        "max_steps": c.max_steps,
        "max_epochs": c.max_epochs,
        "grad_accum_steps": c.grad_accum_steps,
        "clip_norm": c.clip_norm,
        "eval_every_steps": c.eval_every_steps,
        "keep_last": c.keep_last,
        "log_every_steps": c.log_every_steps,
        "max_consecutive_skips": c.max_consecutive_skips,
        "early_stopping_patience": c.early_stopping_patience,
        "d_model": c.d_model,
    }
    for name, value in positive.items():
        if value is not None and not value > 0:
            problems.append(f"{name}: must be > 0, got {value}")
    non_negative = {
        "threads": c.threads if c.threads is not None else 0,
        "num_workers": c.num_workers if c.num_workers is not None else 0,
        "weight_decay": c.weight_decay,
        "warmup_steps": c.warmup_steps,
        "average_last_n": c.average_last_n,
        "average_best_n": c.average_best_n,
    }
    for name, value in non_negative.items():
        if value < 0:
            problems.append(f"{name}: must be >= 0, got {value}")
    if not all(0.0 <= b < 1.0 for b in c.betas):
        problems.append(f"betas: each must be in [0, 1), got {c.betas}")
    if not 0.0 <= c.min_lr_ratio <= 1.0:
        problems.append(f"min_lr_ratio: must be in [0, 1], got {c.min_lr_ratio}")
    if c.schedule == "noam" and (c.d_model is None or c.warmup_steps <= 0):
        problems.append("schedule 'noam': needs d_model and warmup_steps > 0")
    if c.average_last_n > c.keep_last:
        problems.append(
            f"average_last_n={c.average_last_n} > keep_last={c.keep_last}: the checkpoints to "
            "average would be deleted; raise keep_last"
        )
    if c.average_last_n and c.average_best_n:
        problems.append("average_last_n/average_best_n: set one of them (both write averaged/)")
    if not c.metric:
        problems.append("metric: name the metric that selects the best checkpoint")
    return problems
