"""``train(config)``: read and encode each task's data, build (or take over) the encoder, add
the heads, LoRA and freezing, and run the core trainer with dev evaluation per task.

Checkpoint metadata (format ``voxtext.text/1``, ``task`` the config's task) holds what
inference rebuilds the model from: the encoder's registry record and rebuild options (its
files copied to ``<out_dir>/encoder`` when it has any), each head's record, kind and label
set, and the LoRA settings.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext.components import ComponentSpec, Provenance, build_component
from voxtext.config import plain, to_dict
from voxtext.errors import ConfigError
from voxtext.protocols import encoder_takes_tokens
from voxtext.text.config import MAIN_TASK, TaskKind, TextConfig, TextDataConfig
from voxtext.text.dataset import (
    EncodedText,
    LabelSet,
    MultiTaskBatches,
    TaskExample,
    check_known_labels,
    encode_examples,
    read_task_examples,
    report_truncation,
    task_batches,
)
from voxtext.text.evaluation import masked_lm_scores, metric_dict, task_scores
from voxtext.text.losses import TaskLoss, TextLoss
from voxtext.text.model import TextModel, add_lora, freeze_embeddings, parameter_counts
from voxtext.text.restore import ENCODER_FILES, encoder_from_checkpoint, text_metadata
from voxtext.train import Trainer, TrainResult
from voxtext.train.distributed import current_rank_and_world


@dataclass
class _Task:
    """One task of the run with its data read and encoded."""

    name: str
    kind: TaskKind
    data: TextDataConfig
    head: ComponentSpec
    weight: float
    train: list[TaskExample]
    labels: LabelSet | None = None
    items: list[EncodedText] | None = None
    dev: list[TaskExample] | None = None
    dev_items: list[EncodedText] | None = None


def train(config: TextConfig, *, resume: bool = False) -> TrainResult:
    """Train the text model ``config`` describes; checkpoints go to ``config.out_dir``."""
    torch.manual_seed(config.trainer.seed)
    tasks = _read_tasks(config)
    encoder, encoder_meta = _encoder(config, tasks)
    tokenizer = encoder.tokenizer
    heads, head_meta = {}, {}
    for task in tasks:
        heads[task.name], head_meta[task.name] = _head(task, encoder)
        _encode(task, tokenizer)
    model = TextModel(encoder, heads)
    if config.init_from is not None:
        _load_encoder_weights(model, config.init_from)
    lora = add_lora(encoder, config.lora) if config.lora is not None else None
    if config.freeze_embeddings:
        freeze_embeddings(model)
    counts = parameter_counts(model)
    _say(
        f"{counts['trainable']:,} of {counts['total']:,} parameters train "
        f"({100 * counts['trainable'] / counts['total']:.2f} %)"
    )
    augmentations = _augmentations(config)
    _check_distributed(config)
    loss = TextLoss(
        {
            t.name: TaskLoss(t.kind, bool(t.labels and t.labels.multi_label), t.weight)
            for t in tasks
        },
        tokenizer,
        label_smoothing=config.label_smoothing,
        augmentations=augmentations,
        mlm=config.mlm,
        fgm=config.fgm,
    )
    batches = MultiTaskBatches(
        {
            t.name: task_batches(
                t.items or [], tokenizer.pad_id, t.name, t.data, config.trainer.seed
            )
            for t in tasks
        },
        config.trainer.seed,
    )
    metadata = text_metadata(
        config.task,
        plain(to_dict(config)),
        encoder_meta,
        head_meta,
        lora=lora,
        parameters=counts,
    )
    _save_encoder_files(encoder, config.out_dir, encoder_meta)
    trainer = Trainer(
        config.trainer,
        model,
        loss,
        batches,
        config.out_dir,
        evaluate=_dev_evaluator(tasks, tokenizer, config),
        metadata=metadata,
    )
    result = trainer.fit(resume=resume)
    if current_rank_and_world()[0] == 0:
        _evaluate_tests(config)
    return result


def _evaluate_tests(config: TextConfig) -> None:
    """Each task's ``data.test``, scored with the averaged (else best) checkpoint, into
    ``<out_dir>/test/`` (the main task, with ``group_by``) and ``<out_dir>/test/<task>/``."""
    from voxtext.text.inference import TextPredictor, evaluate_file

    tests = [(MAIN_TASK, config.data, config.group_by)]
    tests += [(t.name, t.data, ()) for t in config.extra_tasks]
    tests = [t for t in tests if t[1].test is not None]
    if not tests:
        return
    averaged = config.trainer.average_last_n or config.trainer.average_best_n
    predictor = TextPredictor.load(config.out_dir, which="averaged" if averaged else "best")
    for name, data, group_by in tests:
        assert data.test is not None
        out = config.out_dir / "test" if name == MAIN_TASK else config.out_dir / "test" / name
        result = evaluate_file(
            predictor,
            data.test,
            out,
            task=name,
            group_by=group_by,
            group_columns=data.group_columns,
            evaluator=config.evaluator,
        )
        scores = result["scores"]
        headline = ", ".join(
            f"{k} {scores[k]:.4f}" for k in ("accuracy", "macro_f1", "f1") if k in scores
        )
        _say(f"test set {data.test} ({name}): {headline}; report in {out}/report.md")


def _read_tasks(config: TextConfig) -> list[_Task]:
    specs = [(MAIN_TASK, config.task, config.data, config.head_spec(), 1.0)]
    for i, extra in enumerate(config.extra_tasks):
        head = config.head_spec(extra.task, extra.head, where=f"extra_tasks[{i}].head")
        specs.append((extra.name, extra.task, extra.data, head, extra.weight))
    tasks = []
    for name, kind, data, head, weight in specs:
        train = read_task_examples(data.train, kind, data)
        task = _Task(name, kind, data, head, weight, train)
        if kind != "masked-lm":
            task.labels = LabelSet.from_examples(train, kind)
        if data.dev is not None:
            task.dev = read_task_examples(data.dev, kind, data)
            if task.labels is not None:
                check_known_labels(task.dev, task.labels, data.dev)
        tasks.append(task)
    return tasks


def _encoder(config: TextConfig, tasks: list[_Task]) -> tuple[Any, dict[str, Any]]:
    """A new encoder from ``config.encoder`` (a compact BERT learns its vocabulary from every
    task's training text), or the encoder of ``init_from``."""
    if config.init_from is not None:
        spec = config.encoder_spec()
        encoder, meta = encoder_from_checkpoint(config.init_from)
        if spec is not None and spec.name != meta["name"]:
            raise ConfigError(
                f"encoder: names '{spec.name}' but init_from {config.init_from} holds a "
                f"'{meta['name']}' encoder; drop the [encoder] table to use it"
            )
        return encoder, meta
    spec = config.encoder_spec()
    assert spec is not None, "load_text_config requires encoder or init_from"
    from voxtext.plugins import registry

    fields = registry("encoders").get(spec.name).config
    names = {f for f in getattr(fields, "__dataclass_fields__", {})}
    if "texts" in names and not spec.options.get("vocabulary") and not spec.options.get("texts"):
        texts = tuple(e.text for t in tasks for e in t.train)
        spec = ComponentSpec(spec.name, {**spec.options, "texts": texts})
    encoder, record = build_component("encoders", spec, where="encoder")
    if not encoder_takes_tokens(encoder):
        raise ConfigError(
            f"encoder: '{spec.name}' is not a text encoder (it does not take token ids); use "
            "a text encoder such as hf-text or compact-bert (see `voxtext plugins`)"
        )
    return encoder, _encoder_meta(encoder, record)


def _encoder_meta(encoder: Any, record: Provenance) -> dict[str, Any]:
    plain_record = record.to_dict()
    plain_record["config"] = {k: v for k, v in plain_record["config"].items() if k != "texts"}
    return {
        **plain(plain_record),
        "options": plain(encoder.to_dict()),
        "files": ENCODER_FILES if hasattr(encoder, "save_files") else None,
    }


def _head(task: _Task, encoder: Any) -> tuple[Any, dict[str, Any]]:
    if task.kind == "masked-lm":  # one logit per row of the embedding table it is tied to
        size = int(encoder.input_embeddings().num_embeddings)
    else:
        assert task.labels is not None
        size = len(task.labels.values)
    options = {**task.head.options, "input_dim": int(encoder.output_dim), "num_labels": size}
    spec = ComponentSpec(task.head.name, options)
    where = "head" if task.name == MAIN_TASK else f"extra_tasks '{task.name}' head"
    head, record = build_component("decoders", spec, where=where)
    level = getattr(head, "level", None)
    wanted = "sequence" if task.kind == "text-classification" else "token"
    if level != wanted:
        raise ConfigError(
            f"{where}: '{spec.name}' works on the {level} level, but task {task.kind} needs a "
            f"{wanted}-level head (`voxtext plugins` lists the heads under decoders)"
        )
    if task.kind == "masked-lm" and hasattr(head, "tie_to"):
        head.tie_to(encoder.input_embeddings())
    return head, {
        "record": plain(record.to_dict()),
        "kind": task.kind,
        "labels": task.labels.to_dict() if task.labels is not None else None,
    }


def _encode(task: _Task, tokenizer: Any) -> None:
    task.items = encode_examples(task.train, tokenizer, task.kind, task.labels)
    report_truncation(task.items, tokenizer, str(task.data.train))
    if task.dev is not None:
        task.dev_items = encode_examples(task.dev, tokenizer, task.kind, task.labels)


def _load_encoder_weights(model: TextModel, init_from: Path) -> None:
    from voxtext.text.restore import encoder_state

    state = encoder_state(init_from)
    missing, unexpected = model.encoder.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ConfigError(
            f"init_from {init_from}: its encoder weights do not fit (missing {missing[:5]}, "
            f"unexpected {unexpected[:5]})"
        )


def _augmentations(config: TextConfig) -> list[Any]:
    built = []
    for i, spec in enumerate(config.augmentation_specs()):
        augmentation, _ = build_component("augmentations", spec, where=f"augmentations[{i}]")
        if getattr(augmentation, "domain", None) != "text":
            domain = getattr(augmentation, "domain", "?")
            raise ConfigError(
                f"augmentations[{i}]: '{spec.name}' works on {domain} data, not text; text "
                "tasks take text augmentations such as 'eda'"
            )
        built.append(augmentation)
    return built


def _check_distributed(config: TextConfig) -> None:
    _, world = current_rank_and_world()
    if config.fgm is not None and world > 1:
        raise ConfigError(
            "fgm: adversarial training runs two forward passes per batch, which "
            "DistributedDataParallel does not allow; train on one process or drop fgm"
        )


def _dev_evaluator(tasks: list[_Task], tokenizer: Any, config: TextConfig) -> Any:
    """Dev metrics of every task with dev data: ``dev_accuracy``, ``dev_macro_f1``… for the
    main task, ``dev_<task>_…`` for extra ones, ``dev_f1`` (entities) for tagging and
    ``dev_mlm_accuracy``/``dev_mlm_loss`` for masked-LM."""
    with_dev = [t for t in tasks if t.dev_items]
    if not with_dev:
        return None

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for task in with_dev:
            prefix = "dev_" if task.name == MAIN_TASK else f"dev_{task.name}_"
            items = task.dev_items or []
            if task.kind == "masked-lm":
                scores = masked_lm_scores(
                    model, items, tokenizer, config.mlm, batch_size=task.data.eval_batch_size
                )
                metrics.update({prefix + k: v for k, v in scores.items()})
                continue
            truth = [
                e.tags if task.kind == "token-classification" else e.label for e in task.dev or []
            ]
            assert task.labels is not None
            result = task_scores(
                model,
                items,
                truth,
                kind=task.kind,
                labels=task.labels,
                task=task.name,
                pad_id=tokenizer.pad_id,
                batch_size=task.data.eval_batch_size,
            )
            metrics.update(metric_dict(result, prefix))
        return metrics

    return evaluate


def _save_encoder_files(encoder: Any, out_dir: Path, meta: Mapping[str, Any]) -> None:
    rank, _ = current_rank_and_world()
    if meta.get("files") and rank == 0:
        folder = out_dir / str(meta["files"])
        folder.mkdir(parents=True, exist_ok=True)
        encoder.save_files(folder)


def _say(message: str) -> None:
    rank, _ = current_rank_and_world()
    if rank == 0:
        print(f"voxtext train: {message}", file=sys.stderr)
