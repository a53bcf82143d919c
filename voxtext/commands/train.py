"""``voxtext train CONFIG [--set key=value ...] [--resume]``: train the job a config describes.

The config's ``task`` field picks the job among the registered tasks (``voxtext plugins``
lists them; a config without it is a CTC ASR config); every component in it is named by
registry name.
Runs as one process or under ``torchrun --nproc_per_node N``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "train a model from a TOML config (components named by registry name)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxtext.config import add_set_option

    parser.add_argument("config", type=Path, help="TOML config file")
    add_set_option(parser, "trainer.lr=3e-4")
    parser.add_argument(
        "--resume", action="store_true", help="continue from the run folder's latest checkpoint"
    )


def run(args: argparse.Namespace) -> int:
    from voxtext.config import config_values
    from voxtext.tasks import config_task, get_task

    values, where = config_values(args.config, args.overrides)
    task = get_task(config_task(values), where=where)
    config = task.load_config(values, where=where)
    result = task.train(config, resume=args.resume)
    best = result.best_checkpoint or result.last_checkpoint
    print(
        f"voxtext train: {result.steps} steps, best {config.trainer.metric} = "
        f"{result.best_metric}; checkpoint {best}"
    )
    return 0
