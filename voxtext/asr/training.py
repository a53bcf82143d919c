"""``train(config)``: read and filter the manifests, fit the tokenizer and the feature
normaliser, assemble the model and run the core trainer with dev evaluation per group
(the data, group plan and dev scoring come from the speech kit, ``voxtext.speech``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from voxtext.asr.assembly import assemble, decoder_for, with_defaults
from voxtext.asr.config import ASRConfig
from voxtext.asr.decoding import auxiliary_metrics, decode_files
from voxtext.asr.losses import ctc_loss, group_aware_loss
from voxtext.components import build_component
from voxtext.config import plain, to_dict
from voxtext.data.manifest import Utterance
from voxtext.speech.dataset import (
    UtteranceDataset,
    collate,
    training_composition,
    training_utterances,
)
from voxtext.speech.evaluation import dev_evaluator
from voxtext.speech.groups import GroupVocabulary, build_strategies, plan_groups
from voxtext.train import DurationBatchSampler, SampledBatches, Trainer
from voxtext.train.metadata import CheckpointMetadata
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
    vocabulary = GroupVocabulary.of_run(config.group_attribute, [u.groups for u in utterances])
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
    components = {role: r.to_dict() for role, r in assembled.records.items()}
    # the fitted tokenizer's whole config (its learnt vocabulary), not the config's table
    components["tokenizer"] = {**tokenizer_record.to_dict(), "config": plain(tokenizer.to_dict())}
    components["decoder"] = decoder_record.to_dict()
    task_state: dict[str, Any] = {
        "config": plain(to_dict(config)),
        "sample_rate": config.data.sample_rate,
        "normalizer_state": _tensors_to_lists(model.normalizer.state_dict())
        if model.normalizer is not None
        else None,
        "vocab_size": int(tokenizer.vocab_size),
        "training_data": training_composition(utterances, config.evaluation_groups()),
    }
    plan = plan_groups(
        vocabulary,
        strategies,
        assembled.group_context,
        dataset.group_ids,
        assembled.group_module_roles,
    )
    if plan.vocabulary is not None:
        task_state["groups"] = plan.metadata()
    sampler = DurationBatchSampler(
        [u.duration for u in utterances],
        config.data.max_batch_seconds,
        max_batch_size=config.data.max_batch_size,
        seed=config.trainer.seed,
        weights=plan.weights,
        ids=[u.id for u in utterances],
    )
    batches = SampledBatches(dataset, sampler, collate, num_workers=config.data.num_workers)
    trainer = Trainer(
        config.trainer,
        model,
        group_aware_loss(plan.group_loss) if plan.vocabulary is not None else ctc_loss,
        batches,
        config.out_dir,
        evaluate=_dev_evaluator(config, decoder, vocabulary),
        metadata=CheckpointMetadata(config.task, components, task_state),
        extra_state=plan.extra_state,
        # precision "auto" may pick bf16 on CPUs with native bf16: it reached fp32's dev CER
        # on the ASR smoke task (tests/asr/test_asr_precision.py)
        cpu_bf16=True,
    )
    return trainer.fit(resume=resume)


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
    """The speech kit's dev evaluator, decoding each utterance with its group id; plus the
    group modules' auxiliary metrics (``dev_dialect_id_acc``) with the groups hidden."""
    rate, max_seconds = config.data.sample_rate, config.data.max_batch_seconds

    def group_ids(dev: Sequence[Utterance]) -> list[int] | None:
        return vocabulary.ids_of([u.groups for u in dev]) if vocabulary is not None else None

    def transcribe(model: torch.nn.Module, dev: Sequence[Utterance]) -> list[str]:
        return decode_files(
            model,
            decoder,
            [u.audio for u in dev],
            [u.duration for u in dev],
            sample_rate=rate,
            max_batch_seconds=max_seconds,
            group_ids=group_ids(dev),
        )

    def more(model: torch.nn.Module, dev: Sequence[Utterance]) -> dict[str, float]:
        ids = group_ids(dev)
        if ids is None or len(getattr(model, "group_modules", ())) == 0:
            return {}
        return auxiliary_metrics(
            model,
            [u.audio for u in dev],
            [u.duration for u in dev],
            ids,
            sample_rate=rate,
            max_batch_seconds=max_seconds,
        )

    return dev_evaluator(config, transcribe, more)


def _tensors_to_lists(state: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.tolist() if isinstance(v, torch.Tensor) else v for k, v in state.items()}
