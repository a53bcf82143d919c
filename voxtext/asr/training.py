"""``train(config)``: read and filter the manifests, fit the tokenizer and the feature
normaliser, assemble the model and run the core trainer with dev evaluation per group."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

import voxtext
from voxtext.asr.assembly import assemble, decoder_for, with_defaults
from voxtext.asr.config import ASRConfig
from voxtext.asr.dataset import UtteranceDataset, collate
from voxtext.asr.decoding import decode_files
from voxtext.asr.scoring import grouped_error_rates
from voxtext.components import build_component
from voxtext.config import to_dict
from voxtext.data.manifest import Utterance, read_manifest
from voxtext.train import (
    DurationBatchSampler,
    LossOutput,
    SampledBatches,
    Trainer,
    filter_by_length,
    float32_loss,
)
from voxtext.train.distributed import current_rank_and_world
from voxtext.train.trainer import TrainResult

CHECKPOINT_FORMAT = "voxtext.asr/1"
#: Tokenizer config fields that say where its vocabulary comes from (protocols.Tokenizer);
#: when none is given, the tokenizer learns from the training transcripts.
TOKENIZER_SOURCES = {"texts", "manifest", "vocabulary", "model"}


def ctc_loss(
    model: torch.nn.Module, batch: Mapping[str, Any], generator: torch.Generator
) -> LossOutput:
    """CTC loss summed over the batch, normalised by its target tokens (so accumulation over
    batches of different lengths weighs every token alike)."""
    log_probs, out_lengths = model(batch["waveforms"], batch["lengths"], generator)
    with float32_loss():
        loss = F.ctc_loss(
            log_probs.float().transpose(0, 1),
            batch["targets"],
            out_lengths,
            batch["target_lengths"],
            reduction="sum",
            zero_infinity=True,
        )
    too_short = int((out_lengths < batch["target_lengths"]).sum())
    return LossOutput(
        loss_sum=loss,
        units=int(batch["target_lengths"].sum()),
        stats={"too_short_for_ctc": float(too_short)},
    )


def train(config: ASRConfig, *, resume: bool = False) -> TrainResult:
    """Train the recogniser ``config`` describes; checkpoints go to ``config.out_dir``."""
    torch.manual_seed(config.trainer.seed)
    utterances = _training_utterances(config)
    tokenizer_spec = config.spec("tokenizer")
    if not TOKENIZER_SOURCES & set(tokenizer_spec.options):  # learn from the transcripts
        tokenizer_spec = with_defaults(tokenizer_spec, texts=tuple(u.text for u in utterances))
    tokenizer, tokenizer_record = build_component("tokenizers", tokenizer_spec, where="tokenizer")
    assembled = assemble(
        features=config.spec("features"),
        normalizer=config.spec("normalizer") if config.normalizer is not None else None,
        encoder=config.spec("encoder"),
        augmentations=config.augmentation_specs(),
        vocab_size=int(tokenizer.vocab_size),
        dropout=config.dropout,
    )
    model = assembled.model
    dataset = UtteranceDataset(utterances, tokenizer, config.data.sample_rate)
    if model.normalizer is not None and model.normalizer.needs_fitting:
        _fit_normalizer(model, dataset, config)
    decoder, decoder_record = decoder_for(config.spec("decoder"), tokenizer, where="decoder")
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "config": _plain(to_dict(config)),
        "sample_rate": config.data.sample_rate,
        "tokenizer": {**tokenizer_record.to_dict(), "config": _plain(tokenizer.to_dict())},
        "components": {role: r.to_dict() for role, r in assembled.records.items()},
        "decoder": decoder_record.to_dict(),
        "normalizer_state": _tensors_to_lists(model.normalizer.state_dict())
        if model.normalizer is not None
        else None,
        "vocab_size": int(tokenizer.vocab_size),
    }
    sampler = DurationBatchSampler(
        [u.duration for u in utterances],
        config.data.max_batch_seconds,
        max_batch_size=config.data.max_batch_size,
        seed=config.trainer.seed,
        ids=[u.id for u in utterances],
    )
    batches = SampledBatches(dataset, sampler, collate, num_workers=config.data.num_workers)
    evaluate = _dev_evaluator(config, decoder) if config.data.dev is not None else None
    trainer = Trainer(
        config.trainer,
        model,
        ctc_loss,
        batches,
        config.out_dir,
        evaluate=evaluate,
        metadata=metadata,
    )
    return trainer.fit(resume=resume)


def _training_utterances(config: ASRConfig) -> list[Utterance]:
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


def _dev_evaluator(config: ASRConfig, decoder: Any) -> Any:
    assert config.data.dev is not None
    dev = read_manifest(config.data.dev)
    references = [u.text for u in dev]
    groups = [u.groups for u in dev]
    normalise = _text_normalizer(config)

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        hypotheses = decode_files(
            model,
            decoder,
            [u.audio for u in dev],
            [u.duration for u in dev],
            sample_rate=config.data.sample_rate,
            max_batch_seconds=config.data.max_batch_seconds,
        )
        return grouped_error_rates(
            [normalise(r) for r in references],
            [normalise(h) for h in hypotheses],
            groups,
            config.data.group_by,
        )

    return evaluate


def _text_normalizer(config: ASRConfig) -> Any:
    if config.text_normalizer is None:
        return lambda text: text
    return voxtext.registry("text_normalizers").create(config.text_normalizer)


def _tensors_to_lists(state: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.tolist() if isinstance(v, torch.Tensor) else v for k, v in state.items()}


def _plain(value: Any) -> Any:
    """JSON-able copy (tuples as lists, paths as strings)."""
    return json.loads(json.dumps(value, default=str))
