"""The core's side of group-aware ASR: the group vocabulary, group ids in batches, config
checks, combining strategies, and dev_worst_cer's robustness."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from voxtext.asr import load_asr_config
from voxtext.components import ComponentSpec
from voxtext.data.manifest import read_manifest
from voxtext.errors import ConfigError
from voxtext.protocols import GroupContext
from voxtext.speech.dataset import UtteranceDataset, collate
from voxtext.speech.groups import (
    GroupVocabulary,
    build_strategies,
    combined_group_loss,
    combined_sampling_weights,
)
from voxtext.speech.scoring import grouped_error_rates
from voxtext.testing import write_tone_corpus

BASE = {
    "out_dir": "run",
    "data": {"train": "train.jsonl"},
    "trainer": {"max_steps": 1},
    "features": {"name": "fbank"},
    "normalizer": {"name": "cmvn-global"},
    "tokenizer": {"name": "char"},
    "encoder": {"name": "conformer"},
    "decoder": {"name": "ctc-greedy"},
}


def test_vocabulary_maps_missing_and_unseen_values_to_unknown():
    vocabulary = GroupVocabulary.from_groups(
        "dialect", [{"dialect": "yue"}, {"dialect": "cmn"}, {}, {"gender": "f"}]
    )
    assert vocabulary.values == ("<unknown>", "cmn", "yue")
    assert vocabulary.ids_of([{"dialect": "yue"}, {"dialect": "wuu"}, {}, None]) == [2, 0, 0, 0]
    assert GroupVocabulary.from_dict(vocabulary.to_dict()) == vocabulary


def test_batches_carry_group_ids(tmp_path: Path):
    utterances = read_manifest(write_tone_corpus(tmp_path, n=4, dialects=("north", "south")))
    train_vocabulary = GroupVocabulary("dialect", ("<unknown>", "north"))  # south unseen
    tokenizer = _CharTokenizer()
    batch = collate(
        [UtteranceDataset(utterances, tokenizer, 16000, train_vocabulary)[i] for i in range(4)]
    )
    assert batch["group_ids"].tolist() == [1, 0, 1, 0]
    plain = collate([UtteranceDataset(utterances, tokenizer, 16000)[i] for i in range(2)])
    assert plain["group_ids"].tolist() == [0, 0]


def test_config_needs_group_attribute_for_strategies():
    with pytest.raises(ConfigError, match="group_attribute"):
        load_asr_config({**BASE, "strategies": [{"name": "group-dro"}]})
    with pytest.raises(ConfigError, match="group_attribute is empty"):
        load_asr_config({**BASE, "group_attribute": " "})
    config = load_asr_config(
        {
            **BASE,
            "group_attribute": "dialect",
            "data": {"train": "t.jsonl", "group_by": ["gender", "dialect"]},
            "strategies": [{"name": "balanced-sampling", "alpha": 0.3}, "group-dro"],
        },
        ["strategies=[{name='group-dro', step_size=0.2}]"],
    )
    assert [s.name for s in config.strategy_specs()] == ["group-dro"]
    assert config.strategy_specs()[0].options == {"step_size": 0.2}
    assert config.evaluation_groups() == ("dialect", "gender")


def test_unknown_strategy_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"strategies\[0\].*balanced-sampling"):
        build_strategies([ComponentSpec("balanced-sampleing")])


def test_one_sampling_and_one_loss_strategy_at_most():
    context = GroupContext("dialect", ("<unknown>", "a", "b"), 40, None)
    twice = build_strategies(
        [ComponentSpec("balanced-sampling"), ComponentSpec("balanced-sampling")]
    )
    with pytest.raises(ConfigError, match="sampling weights; keep one"):
        combined_sampling_weights(twice, [1, 2], context)
    dro_twice = build_strategies([ComponentSpec("group-dro"), ComponentSpec("group-dro")])
    with pytest.raises(ConfigError, match="replace the training loss; keep one"):
        combined_group_loss(dro_twice, context)
    both = build_strategies(
        [ComponentSpec("balanced-sampling", {"alpha": 0}), ComponentSpec("group-dro")]
    )
    assert combined_sampling_weights(both, [1, 1, 1, 2], context) == pytest.approx(
        [1 / 6, 1 / 6, 1 / 6, 1 / 2]
    )
    assert combined_group_loss(both, context) is not None
    assert combined_sampling_weights([], [1, 2], context) is None


def test_worst_cer_is_over_the_group_attribute_and_ignores_absent_groups():
    refs = ["abc", "abc", "abc", "", "abc"]
    hyps = ["abc", "abd", "xyz", "", "abc"]
    groups = [
        {"dialect": "n", "gender": "f"},
        {"dialect": "s", "gender": "f"},
        {"dialect": "w", "gender": "m"},
        {"dialect": "e"},  # only an empty reference: its rate is nan, not the worst
        {},  # no dialect: counted overall only
    ]
    metrics = grouped_error_rates(refs, hyps, groups, ["dialect", "gender"], worst_of="dialect")
    assert math.isnan(metrics["dev_cer/dialect=e"])
    assert metrics["dev_worst_cer"] == pytest.approx(1.0)  # dialect w
    assert metrics["dev_worst_cer/gender"] == pytest.approx(1.0)
    only_ns = grouped_error_rates(refs[:2], hyps[:2], groups[:2], ["dialect"], worst_of="dialect")
    assert only_ns["dev_worst_cer"] == pytest.approx(1 / 3)  # w, e absent: not counted
    assert "dev_cer/dialect=w" not in only_ns
    nothing = grouped_error_rates(refs[3:4], hyps[3:4], groups[3:4], ["dialect"])
    assert math.isnan(nothing["dev_worst_cer"])
    with pytest.raises(ValueError, match="not among group_by"):
        grouped_error_rates(refs, hyps, groups, ["gender"], worst_of="dialect")


def test_a_model_without_groups_keeps_its_state_dict_keys(tmp_path: Path):
    from voxtext.asr.assembly import assemble

    plain = assemble(
        features=ComponentSpec("fbank", {"num_mel_bins": 40}),
        normalizer=None,
        encoder=ComponentSpec("conformer", {"d_model": 32, "num_heads": 4, "num_layers": 1}),
        augmentations=[],
        vocab_size=5,
        dropout=0.0,
    )
    assert not any(k.startswith("group_modules") for k in plain.model.state_dict())
    log_probs, _ = plain.model(torch.zeros(1, 4000), torch.tensor([4000]))
    assert log_probs.shape[-1] == 5


def test_a_text_augmentation_is_refused_by_name():
    from voxtext.asr.assembly import assemble

    audio = {"name": "spec-augment"}
    specs = [ComponentSpec.parse(audio, where="a"), ComponentSpec("eda", {})]
    with pytest.raises(ConfigError, match=r"augmentations\[1\]: 'eda' works on text data"):
        assemble(
            features=ComponentSpec("fbank", {"num_mel_bins": 40}),
            normalizer=None,
            encoder=ComponentSpec("conformer", {"d_model": 32, "num_heads": 4, "num_layers": 1}),
            augmentations=specs,
            vocab_size=5,
            dropout=0.0,
        )
    kept = assemble(
        features=ComponentSpec("fbank", {"num_mel_bins": 40}),
        normalizer=None,
        encoder=ComponentSpec("conformer", {"d_model": 32, "num_heads": 4, "num_layers": 1}),
        augmentations=specs[:1],
        vocab_size=5,
        dropout=0.0,
    )
    assert [a.domain for a in kept.model.augmentations] == ["features"]


class _CharTokenizer:
    """Letters a-f as ids 1-6 (0 is the blank), enough for UtteranceDataset."""

    vocab_size, blank_id, symbols = 7, 0, ["<blank>", *"abcdef"]

    def encode(self, text: str) -> list[int]:
        return [self.symbols.index(ch) for ch in text]
