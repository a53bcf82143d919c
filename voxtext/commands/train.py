"""``voxtext train CONFIG [--set key=value ...] [--resume]``: train the job a config describes.

The config's ``task`` field picks the job (``asr``, or the text tasks
``text-classification``, ``token-classification`` and ``masked-lm``); every component in it
is named by registry name. Runs as one process or under ``torchrun --nproc_per_node N``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "train a model from a TOML config (components named by registry name)"
TEXT_TASKS = ("text-classification", "token-classification", "masked-lm")
TASKS = ("asr", *TEXT_TASKS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path, help="TOML config file")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. trainer.lr=3e-4",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the run folder's latest checkpoint"
    )


def run(args: argparse.Namespace) -> int:
    from voxtext.config import read_config_file
    from voxtext.errors import ConfigError

    task = read_config_file(args.config).get("task", "asr")
    if task not in TASKS:
        raise ConfigError(f"{args.config}: task {task!r} is not known; tasks: {', '.join(TASKS)}")
    if task in TEXT_TASKS:
        from voxtext.text import load_text_config
        from voxtext.text import train as train_text

        text_config = load_text_config(args.config, args.overrides)
        result = train_text(text_config, resume=args.resume)
        metric = text_config.trainer.metric
    else:
        from voxtext.asr import load_asr_config, train

        asr_config = load_asr_config(args.config, args.overrides)
        result = train(asr_config, resume=args.resume)
        metric = asr_config.trainer.metric
    best = result.best_checkpoint or result.last_checkpoint
    print(
        f"voxtext train: {result.steps} steps, best {metric} = {result.best_metric}; "
        f"checkpoint {best}"
    )
    return 0
