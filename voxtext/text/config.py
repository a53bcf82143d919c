"""``TextConfig``: a text job — classification, tagging or masked-LM pretraining — with every
component named by registry name.

A TOML file (``recipes/text_classification/``) or a mapping builds it; ``--set head.pooling=mean``
style overrides merge in first::

    task = "text-classification"        # or "token-classification", "masked-lm"
    out_dir = "exp/text/reviews"
    init_from = "exp/text/reviews-mlm"  # optional: start the encoder from another run
    label_smoothing = 0.1

    [data]
    train = "data/train.jsonl"          # JSONL/CSV/TSV text datasets (voxtext.data.text),
    dev = "data/dev.jsonl"              # JSONL/CoNLL token datasets, or .txt lines for MLM
    batch_size = 32

    [encoder]
    name = "hf-text"
    path = "/models/all-MiniLM-L6-v2"

    [head]
    name = "sequence-classification"

    [lora]                               # optional: train LoRA adapters instead of the encoder
    r = 8

    [[extra_tasks]]                      # optional: more heads on the same encoder
    name = "ner"
    task = "token-classification"
    data = { train = "ner/train.jsonl", dev = "ner/dev.jsonl" }
    head = { name = "token-classification" }
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from voxtext.components import ComponentSpec
from voxtext.config import build_config, config_values
from voxtext.errors import ConfigError
from voxtext.plugins import registry
from voxtext.train.config import TrainerConfig

TaskKind = Literal["text-classification", "token-classification", "masked-lm"]
TASK_KINDS: tuple[str, ...] = ("text-classification", "token-classification", "masked-lm")
MAIN_TASK = "main"


@dataclass(frozen=True)
class TextDataConfig:
    """Datasets of one task and how they are batched.

    ``train``/``dev``/``test``: for classification a text dataset (``.jsonl``/``.csv``/``.tsv``,
    see ``voxtext.data.text``), for tagging a token dataset (``.jsonl``/``.conll``, see
    ``voxtext.data.tokens``), for masked-LM either of those (labels unused) or a ``.txt`` file
    with one text per line. ``group_columns`` names CSV columns holding groups;
    ``multi_label`` None detects it from the file. Batches hold at most ``batch_size`` texts of
    similar length (length buckets, padded per batch) and at most ``max_batch_tokens`` padded
    tokens when set. Texts longer than the encoder's ``max_length`` are truncated and counted.
    """

    train: Path
    dev: Path | None = None
    test: Path | None = None
    group_columns: tuple[str, ...] = ()
    multi_label: bool | None = None
    batch_size: int = 32
    max_batch_tokens: int | None = None
    eval_batch_size: int = 128
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.batch_size <= 0 or self.eval_batch_size <= 0:
            raise ValueError("batch_size and eval_batch_size must be positive")
        if self.max_batch_tokens is not None and self.max_batch_tokens <= 0:
            raise ValueError("max_batch_tokens must be positive (or left out)")


@dataclass(frozen=True)
class ExtraTaskConfig:
    """Another task trained on the same encoder with its own head and data (multi-task).
    Its loss is multiplied by ``weight``; its dev metrics are reported as ``dev_<name>_…``."""

    name: str
    task: TaskKind
    data: TextDataConfig
    head: Mapping[str, Any] | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name == MAIN_TASK:
            raise ValueError(
                f"name {self.name!r}: use a short identifier (letters, digits, _), not 'main'"
            )
        if self.task == "masked-lm":
            raise ValueError("task 'masked-lm' cannot be an extra task; pretrain first")
        if not self.weight > 0:
            raise ValueError(f"weight must be > 0, got {self.weight}")


@dataclass(frozen=True)
class LoraConfig:
    """LoRA adapters (through peft) on the encoder's ``target_modules`` (module-name suffixes;
    empty: the encoder's own ``lora_targets``). Only the adapters and the heads train."""

    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.1
    target_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.r <= 0 or self.alpha <= 0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("need r > 0, alpha > 0 and 0 <= dropout < 1")


@dataclass(frozen=True)
class FGMConfig:
    """Fast Gradient Method adversarial training: each step also trains on the embeddings
    pushed ``epsilon`` (L2, per text) along the loss gradient (Miyato et al. 2017)."""

    epsilon: float = 1.0

    def __post_init__(self) -> None:
        if not self.epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {self.epsilon}")


@dataclass(frozen=True)
class MLMConfig:
    """Masking for masked-LM pretraining (BERT's recipe: of the chosen tokens, 80 % become
    [MASK], 10 % a random token, 10 % stay)."""

    mask_probability: float = 0.15
    replace_with_mask: float = 0.8
    replace_with_random: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_probability < 1.0:
            raise ValueError("mask_probability must be in (0, 1)")
        if self.replace_with_mask < 0 or self.replace_with_random < 0:
            raise ValueError("replace_with_mask and replace_with_random must be >= 0")
        if self.replace_with_mask + self.replace_with_random > 1.0:
            raise ValueError("replace_with_mask + replace_with_random must be <= 1")


@dataclass(frozen=True)
class TextConfig:
    """A text job. ``encoder``, ``head`` and ``augmentations`` are registry components.

    ``init_from``: a run folder or checkpoint of an earlier text run (masked-LM pretraining,
    another fine-tuning) whose encoder — architecture, tokenizer and weights — this run starts
    from; the ``encoder`` table is then taken from that checkpoint. After training, the main
    task's ``data.test`` (when given) is evaluated with the best checkpoint (the averaged one
    when the trainer writes it) into ``<out_dir>/test/``; ``group_by`` names the group
    attributes that evaluation reports per-group metrics with confidence intervals for.
    ``evaluator``: the fairness evaluator (registry name) of that per-group report. A config
    that leaves out a head table or the evaluator gets the defaults the registered task of
    that kind names (its ``default_head`` and ``default_evaluator`` attributes).
    ``freeze_embeddings`` keeps the token embedding table fixed (cheaper steps, fewer weights
    to overfit). ``augmentations`` (text domain, e.g. ``eda``) edit training texts on the fly.
    """

    out_dir: Path
    data: TextDataConfig
    trainer: TrainerConfig
    task: TaskKind = "text-classification"
    encoder: Mapping[str, Any] | None = None
    head: Mapping[str, Any] | None = None
    init_from: Path | None = None
    label_smoothing: float = 0.0
    augmentations: tuple[Mapping[str, Any], ...] = ()
    lora: LoraConfig | None = None
    fgm: FGMConfig | None = None
    mlm: MLMConfig = field(default_factory=MLMConfig)
    freeze_embeddings: bool = False
    extra_tasks: tuple[ExtraTaskConfig, ...] = ()
    group_by: tuple[str, ...] = ()
    evaluator: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        names = [t.name for t in self.extra_tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"extra_tasks: names must differ, got {names}")
        if self.task == "masked-lm" and self.extra_tasks:
            raise ValueError("extra_tasks: masked-LM pretraining takes no extra tasks")
        if self.task == "masked-lm" and (self.data.test is not None or self.group_by):
            raise ValueError(
                "data.test/group_by: masked-LM pretraining has no test evaluation; drop them "
                "(evaluate the fine-tuned model instead)"
            )
        if self.group_by and not self.evaluator:
            raise ValueError(
                "group_by: name the fairness evaluator of the per-group report, e.g. "
                'evaluator = "<name>" (`voxtext plugins` lists them under fairness evaluators)'
            )
        if self.group_by and self.data.test is None:
            raise ValueError(
                "group_by: per-group metrics are reported on data.test; give data.test or "
                "run `voxtext evaluate RUN DATA --group ATTR`"
            )

    def encoder_spec(self) -> ComponentSpec | None:
        return None if self.encoder is None else ComponentSpec.parse(self.encoder, where="encoder")

    def head_spec(
        self, task: TaskKind | None = None, value: Any = None, where: str = "head"
    ) -> ComponentSpec:
        """The head of the main task (or of ``task`` given its table)."""
        kind = task or self.task
        table = value if task is not None else self.head
        if table is None:
            raise ConfigError(
                f"{where}: name the head of the {kind} task ([head] name = ...; `voxtext "
                "plugins` lists heads under decoders): no registered task names a default"
            )
        return ComponentSpec.parse(table, where=where)

    def augmentation_specs(self) -> list[ComponentSpec]:
        return [
            ComponentSpec.parse(a, where=f"augmentations[{i}]")
            for i, a in enumerate(self.augmentations)
        ]


def load_text_config(
    source: Path | Mapping[str, Any], overrides: Sequence[str] = (), *, where: str | None = None
) -> TextConfig:
    """Build the config from a TOML file or mapping plus ``key=value`` overrides; relative
    paths in a file are read relative to the working directory, like every voxtext config.
    ``where`` names a mapping's source in messages (a file names itself)."""
    values, where = config_values(source, overrides, where=where)
    task = values.get("task", "text-classification")
    if task not in TASK_KINDS:
        raise ConfigError(f"{where}: task {task!r} is not a text task; one of {TASK_KINDS}")
    config = build_config(TextConfig, _with_task_defaults(values, task), where=where)
    if config.encoder is None and config.init_from is None:
        raise ConfigError(
            f'{where}: name an encoder ([encoder] name = "hf-text", path = ...) or give '
            "init_from = <a run folder whose encoder to start from>"
        )
    config.encoder_spec()
    config.head_spec()
    for i, extra in enumerate(config.extra_tasks):
        config.head_spec(extra.task, extra.head, where=f"extra_tasks[{i}].head")
    config.augmentation_specs()
    return config


def _with_task_defaults(values: Mapping[str, Any], task: str) -> dict[str, Any]:
    """``values`` with what the registered task of each text kind names as its defaults where
    the config gives none: the head of the main task and of each extra task
    (``default_head``) and the fairness evaluator (``default_evaluator``)."""
    tasks = registry("tasks")

    def default(kind: Any, attribute: str) -> Any:
        return getattr(tasks.create(kind), attribute, None) if kind in tasks else None

    out = dict(values)
    if out.get("head") is None and default(task, "default_head"):
        out["head"] = {"name": default(task, "default_head")}
    if out.get("evaluator") is None and default(task, "default_evaluator"):
        out["evaluator"] = default(task, "default_evaluator")
    extras = []
    for extra in out.get("extra_tasks") or ():
        if isinstance(extra, Mapping) and extra.get("head") is None:
            head = default(extra.get("task"), "default_head")
            extra = {**extra, "head": {"name": head}} if head else extra
        extras.append(extra)
    if extras:
        out["extra_tasks"] = extras
    return out
