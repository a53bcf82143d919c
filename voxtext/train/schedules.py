"""Learning-rate schedules as pure functions of the optimizer step.

``lr_multiplier(schedule, step, ...)`` returns the factor the base ``lr`` is multiplied by
before optimizer step ``step`` (0-based). The trainer sets each parameter group's ``lr`` from
it every step, so the schedule has no state of its own to save: resuming at step k is exact.

- ``constant``: 1 (after an optional linear warmup).
- ``warmup-cosine``: linear warmup from ~0 to 1 over ``warmup_steps``, then half a cosine down
  to ``min_lr_ratio`` at ``total_steps``.
- ``warmup-linear``: the same warmup, then a straight line down to ``min_lr_ratio``.
- ``noam`` (Vaswani et al. 2017): ``d_model**-0.5 * min(n**-0.5, n * warmup**-1.5)`` with
  ``n = step + 1``; ``lr`` is the scale factor, so the peak, reached at ``n = warmup_steps``,
  is ``lr * (d_model * warmup_steps) ** -0.5``.
"""

from __future__ import annotations

import math

from voxtext.train.config import Schedule


def lr_multiplier(
    schedule: Schedule,
    step: int,
    *,
    total_steps: int,
    warmup_steps: int = 0,
    min_lr_ratio: float = 0.0,
    d_model: int | None = None,
) -> float:
    """The factor on the base learning rate at 0-based optimizer step ``step``."""
    n = step + 1  # the first update already gets a non-zero learning rate
    if schedule == "noam":
        if d_model is None or warmup_steps <= 0:
            raise ValueError("schedule 'noam' needs d_model and warmup_steps > 0")
        return float(d_model**-0.5 * min(n**-0.5, n * warmup_steps**-1.5))
    if warmup_steps > 0 and n <= warmup_steps:
        return n / warmup_steps
    if schedule == "constant":
        return 1.0
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, max(0.0, (n - warmup_steps) / decay_steps))
    if schedule == "warmup-cosine":
        shape = 0.5 * (1.0 + math.cos(math.pi * progress))
    elif schedule == "warmup-linear":
        shape = 1.0 - progress
    else:
        raise ValueError(
            f"unknown schedule {schedule!r}; use constant, warmup-cosine, warmup-linear or noam"
        )
    return min_lr_ratio + (1.0 - min_lr_ratio) * shape
