"""``train(config)``: read and filter the manifests, fit the tokenizer and the feature
normaliser, assemble the model and run the core trainer with dev evaluation per group."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

import voxtext
from voxtext.asr.assembly import Assembled, assemble, decoder_for, with_defaults
from voxtext.asr.config import ASRConfig
from voxtext.asr.dataset import UtteranceDataset, collate
from voxtext.asr.decoding import auxiliary_metrics, decode_files
from voxtext.asr.groups import (
    GroupVocabulary,
    Strategy,
    build_strategies,
    combined_group_loss,
    combined_sampling_weights,
)
from voxtext.asr.inference import FORMAT
from voxtext.asr.losses import ctc_loss, group_aware_loss
from voxtext.asr.scoring import grouped_error_rates
from voxtext.components import build_component
from voxtext.config import plain, to_dict
from voxtext.data.manifest import Utterance, read_manifest
from voxtext.data.summary import summarise
from voxtext.train import (
    DurationBatchSampler,
    LossFn,
    SampledBatches,
    Trainer,
    filter_by_length,
)
from voxtext.train.distributed import current_rank_and_world
from voxtext.train.trainer import TrainResult

#: Tokenizer config fields that say where its vocabulary comes from (protocols.Tokenizer);
#: when none is given, the tokenizer learns from the training transcripts.
TOKENIZER_SOURCES = {"texts", "manifest", "vocabulary", "model"}


def train(config: ASRConfig, *, resume: bool = False) -> TrainResult:
    """Train the recogniser ``config`` describes; checkpoints go to ``config.out_dir``."""
    torch.manual_seed(config.trainer.seed)
    utterances = training_utterances(config)
    tokenizer_spec = config.spec("tokenizer")
    if not TOKENIZER_SOURCES & set(tokenizer_spec.options):  # learn from the transcripts
        tokenizer_spec = with_defaults(tokenizer_spec, texts=tuple(u.text for u in utterances))
    tokenizer, tokenizer_record = build_component("tokenizers", tokenizer_spec, where="tokenizer")
    vocabulary = (
        GroupVocabulary.from_groups(config.group_attribute, [u.groups for u in utterances])
        if config.group_attribute is not None
        else None
    )
    strategies = build_strategies(config.strategy_specs())
    assembled = assemble(
        features=config.spec("features"),
        normalizer=config.spec("normalizer") if config.normalizer is not None else None,
        encoder=config.spec("encoder"),
        augmentations=config.augmentation_specs(),
        vocab_size=int(tokenizer.vocab_size),
        dropout=config.dropout,
        groups=vocabulary,
        strategies=strategies,
    )
    model = assembled.model
    dataset = UtteranceDataset(utterances, tokenizer, config.data.sample_rate, vocabulary)
    if model.normalizer is not None and model.normalizer.needs_fitting:
        _fit_normalizer(model, dataset, config)
    decoder, decoder_record = decoder_for(config.spec("decoder"), tokenizer, where="decoder")
    metadata = {
        "format": FORMAT,
        "config": plain(to_dict(config)),
        "sample_rate": config.data.sample_rate,
        "tokenizer": {**tokenizer_record.to_dict(), "config": plain(tokenizer.to_dict())},
        "components": {role: r.to_dict() for role, r in assembled.records.items()},
        "decoder": decoder_record.to_dict(),
        "normalizer_state": _tensors_to_lists(model.normalizer.state_dict())
        if model.normalizer is not None
        else None,
        "vocab_size": int(tokenizer.vocab_size),
        "training_data": training_composition(utterances, config.evaluation_groups()),
    }
    plan = _group_plan(vocabulary, strategies, assembled, dataset)
    if plan.metadata is not None:
        metadata["groups"] = plan.metadata
    sampler = DurationBatchSampler(
        [u.duration for u in utterances],
        config.data.max_batch_seconds,
        max_batch_size=config.data.max_batch_size,
        seed=config.trainer.seed,
        weights=plan.weights,
        ids=[u.id for u in utterances],
    )
    batches = SampledBatches(dataset, sampler, collate, num_workers=config.data.num_workers)
    evaluate = _dev_evaluator(config, decoder, vocabulary) if config.data.dev is not None else None
    trainer = Trainer(
        config.trainer,
        model,
        plan.loss_fn,
        batches,
        config.out_dir,
        evaluate=evaluate,
        metadata=metadata,
        extra_state=plan.extra_state,
        # precision "auto" may pick bf16 on CPUs with native bf16: it reached fp32's dev CER
        # on the ASR smoke task (tests/asr/test_asr_precision.py)
        cpu_bf16=True,
    )
    return trainer.fit(resume=resume)


@dataclass
class _GroupPlan:
    """What group-aware training changes: the loss, the sampling weights, state to resume
    (the group loss's weights) and the checkpoint's ``groups`` metadata."""

    loss_fn: LossFn = ctc_loss
    weights: list[float] | None = None
    extra_state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None


def _group_plan(
    vocabulary: GroupVocabulary | None,
    strategies: list[Strategy],
    assembled: Assembled,
    dataset: UtteranceDataset,
) -> _GroupPlan:
    """The strategies' sampling weights (one per training utterance) and group loss."""
    if vocabulary is None:
        return _GroupPlan()
    context = assembled.group_context
    assert context is not None, "assemble() builds the group context when given groups"
    group_loss = combined_group_loss(strategies, context)
    return _GroupPlan(
        loss_fn=group_aware_loss(group_loss),
        weights=combined_sampling_weights(strategies, dataset.group_ids, context),
        extra_state={"group_loss": group_loss} if group_loss is not None else {},
        metadata={**vocabulary.to_dict(), "module_roles": assembled.group_module_roles},
    )


def training_composition(
    utterances: Sequence[Utterance], attributes: Sequence[str]
) -> list[dict[str, Any]]:
    """Utterances, hours and speakers per value of each group attribute the training data
    has: what a checkpoint's model card shows as its training data."""
    present = [a for a in attributes if any(a in u.groups for u in utterances)]
    return [dataclasses.asdict(row) for row in summarise(utterances, present).rows]


def training_utterances(config: ASRConfig) -> list[Utterance]:
    """The train manifest minus utterances outside the duration limits, written to
    ``dropped.jsonl`` (and counted on stderr) so nothing disappears silently."""
    utterances = read_manifest(config.data.train)
    result = filter_by_length(
        [u.duration for u in utterances],
        config.data.min_duration,
        config.data.max_duration,
        ids=[u.id for u in utterances],
    )
    rank, _ = current_rank_and_world()
    if result.dropped and rank == 0:
        config.out_dir.mkdir(parents=True, exist_ok=True)
        with (config.out_dir / "dropped.jsonl").open("w", encoding="utf-8") as f:
            for item in result.dropped:
                f.write(
                    json.dumps({"id": item.item_id, "reason": item.reason, "detail": item.detail})
                    + "\n"
                )
        print(
            f"voxtext train: left out {len(result.dropped)} of {len(utterances)} training "
            f"utterances by duration {result.summary()}; see {config.out_dir}/dropped.jsonl"
        )
    return [utterances[i] for i in result.kept]


@torch.no_grad()
def _fit_normalizer(model: Any, dataset: UtteranceDataset, config: ASRConfig) -> None:
    """Accumulate the normaliser's statistics over every training utterance's features."""
    from voxtext.data.audio import collate_waveforms

    order = list(range(len(dataset)))
    for start in range(0, len(order), 32):
        items = [dataset[i] for i in order[start : start + 32]]
        waveforms, lengths = collate_waveforms([item.waveform for item in items])
        features, frames = model.features(waveforms, lengths)
        model.normalizer.accumulate(features, frames)


def _dev_evaluator(config: ASRConfig, decoder: Any, vocabulary: GroupVocabulary | None) -> Any:
    """Dev CER overall and per group (``group_by`` plus the ``group_attribute``, whose worst
    group is ``dev_worst_cer``), decoded with each utterance's group id; plus the group
    modules' auxiliary metrics (``dev_dialect_id_acc``) with the groups hidden."""
    assert config.data.dev is not None
    dev = read_manifest(config.data.dev)
    references = [u.text for u in dev]
    groups = [u.groups for u in dev]
    group_ids = vocabulary.ids_of(groups) if vocabulary is not None else None
    normalise = text_normalizer(config)
    paths, durations = [u.audio for u in dev], [u.duration for u in dev]
    rate, max_seconds = config.data.sample_rate, config.data.max_batch_seconds

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        hypotheses = decode_files(
            model,
            decoder,
            paths,
            durations,
            sample_rate=rate,
            max_batch_seconds=max_seconds,
            group_ids=group_ids,
        )
        metrics = grouped_error_rates(
            [normalise(r) for r in references],
            [normalise(h) for h in hypotheses],
            groups,
            config.evaluation_groups(),
            worst_of=config.group_attribute,
        )
        if group_ids is not None and len(getattr(model, "group_modules", ())) > 0:
            extra = auxiliary_metrics(
                model, paths, durations, group_ids, sample_rate=rate, max_batch_seconds=max_seconds
            )
            metrics.update({f"dev_{name}": value for name, value in extra.items()})
        return metrics

    return evaluate


def text_normalizer(config: ASRConfig) -> Any:
    if config.text_normalizer is None:
        return lambda text: text
    return voxtext.registry("text_normalizers").create(config.text_normalizer)


def _tensors_to_lists(state: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.tolist() if isinstance(v, torch.Tensor) else v for k, v in state.items()}
