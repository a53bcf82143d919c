"""Contract tests over every registered tokenizer and every registered CTC decoder.

Tokenizers that learn a vocabulary are built from ``texts`` (a small mixed English/Chinese
corpus) when their config has that field; ``vocab_size`` is set small when present. CTC
decoders are the registered decoders whose config has ``symbols`` and ``blank_id`` (see
``protocols.CTCDecoder``); other decoders (classification heads) have their own contract.
A component registered by a new plugin is picked up automatically.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
import torch

import voxtext
from voxtext.protocols import CTCDecoder, Hypothesis, Tokenizer


def _corpus() -> list[str]:
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "speech", "model", "data", "voice"]
    han = list("我们今天天气很好去公园玩说话语音识别中文")
    sentences = []
    for i in range(200):
        english = " ".join(rng.choice(words, size=int(rng.integers(2, 6))))
        chinese = "".join(rng.choice(han, size=int(rng.integers(2, 6))))
        sentences.append([english, chinese, f"{english} {chinese}", f"{chinese}{english}"][i % 4])
    return sentences


CORPUS = _corpus()
TOKENIZERS = voxtext.registry("tokenizers").names()
TOKENIZER_SIZES: dict[str, Any] = {"vocab_size": 48}


def _config_fields(kind: str, name: str) -> set[str]:
    config = voxtext.registry(kind).get(name).config
    return {f.name for f in dataclasses.fields(config)} if config is not None else set()


def build_tokenizer(name: str, **overrides: Any) -> Any:
    fields = _config_fields("tokenizers", name)
    values = {k: v for k, v in TOKENIZER_SIZES.items() if k in fields}
    if "texts" in fields:
        values["texts"] = CORPUS
    return voxtext.registry("tokenizers").create(name, values, **overrides)


@pytest.fixture(scope="module", params=TOKENIZERS)
def tokenizer_and_name(request):
    return build_tokenizer(request.param), request.param


def test_tokenizer_conforms_to_the_protocol(tokenizer_and_name):
    tok, _ = tokenizer_and_name
    assert isinstance(tok, Tokenizer)
    assert tok.vocab_size == len(tok.symbols)
    assert all(isinstance(s, str) and s for s in tok.symbols)
    assert len(set(tok.symbols)) == tok.vocab_size
    assert tok.blank_id is None or 0 <= tok.blank_id < tok.vocab_size
    assert tok.decode([]) == ""


def test_tokenizer_round_trips_its_training_texts(tokenizer_and_name):
    tok, _ = tokenizer_and_name
    for text in CORPUS[:40]:
        ids = tok.encode(text)
        assert ids and all(isinstance(i, int) and 0 <= i < tok.vocab_size for i in ids)
        assert tok.blank_id not in ids
        assert tok.decode(ids) == text


def test_tokenizer_is_deterministic(tokenizer_and_name):
    tok, name = tokenizer_and_name
    again = build_tokenizer(name)
    assert again.to_dict() == tok.to_dict()
    assert [again.encode(t) for t in CORPUS[:20]] == [tok.encode(t) for t in CORPUS[:20]]


def test_tokenizer_rebuilds_from_to_dict_through_json(tokenizer_and_name):
    tok, name = tokenizer_and_name
    state = json.loads(json.dumps(tok.to_dict()))
    rebuilt = voxtext.registry("tokenizers").create(name, state)
    assert list(rebuilt.symbols) == list(tok.symbols)
    assert rebuilt.blank_id == tok.blank_id
    assert [rebuilt.encode(t) for t in CORPUS[:20]] == [tok.encode(t) for t in CORPUS[:20]]


def _is_ctc_decoder(name: str) -> bool:
    return {"symbols", "blank_id"} <= _config_fields("decoders", name)


CTC_DECODERS = [n for n in voxtext.registry("decoders").names() if _is_ctc_decoder(n)]
#: Extra settings per decoder, each a variant the contract must hold for.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "ctc-beam": [
        {"beam_size": 1},
        {"nbest": 4, "token_beam": 3},
        {"hotwords": ["abc", "d e"], "token_min_logp": None},
    ],
}
SYMBOLS = ["<blank>", "a", "b", "c", "d", "e", "▁"]
DECODER_CASES = [(n, v) for n in CTC_DECODERS for v in [{}, *VARIANTS.get(n, [])]]


def test_ctc_decoders_are_found():
    assert {"ctc-greedy", "ctc-beam"} <= set(CTC_DECODERS)


def _log_probs(batch: int, frames: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, frames, len(SYMBOLS), generator=generator) * 2.0
    return logits.log_softmax(-1)


@pytest.mark.parametrize(("name", "variant"), DECODER_CASES, ids=str)
def test_ctc_decoder_conforms_and_returns_well_formed_hypotheses(name, variant):
    decoder = voxtext.registry("decoders").create(name, symbols=SYMBOLS, blank_id=0, **variant)
    assert isinstance(decoder, CTCDecoder)
    lengths = torch.tensor([30, 0, 17, 1])
    results = decoder.decode(_log_probs(4, 30, seed=1), lengths)
    assert len(results) == 4
    for hyps in results:
        assert hyps and all(isinstance(h, Hypothesis) for h in hyps)
        scores = [h.score for h in hyps]
        assert all(np.isfinite(scores)) and scores == sorted(scores, reverse=True)
        for h in hyps:
            assert all(isinstance(t, int) and 0 < t < len(SYMBOLS) for t in h.tokens)
            assert isinstance(h.text, str)
    assert results[1][0].tokens == () and results[1][0].text == ""


@pytest.mark.parametrize(("name", "variant"), DECODER_CASES, ids=str)
def test_ctc_decoder_is_deterministic_and_batch_equals_single(name, variant):
    decoder = voxtext.registry("decoders").create(name, symbols=SYMBOLS, blank_id=0, **variant)
    log_probs, lengths = _log_probs(5, 40, seed=2), torch.tensor([40, 33, 8, 40, 21])
    batched = decoder.decode(log_probs, lengths)
    assert decoder.decode(log_probs.clone(), lengths.clone()) == batched
    for row, length in enumerate(lengths.tolist()):
        alone = decoder.decode(log_probs[row : row + 1, :length], torch.tensor([length]))[0]
        assert [h.tokens for h in alone] == [h.tokens for h in batched[row]]
        assert [h.text for h in alone] == [h.text for h in batched[row]]
        assert [h.score for h in alone] == pytest.approx(
            [h.score for h in batched[row]], rel=1e-5, abs=1e-4
        )


@pytest.mark.parametrize("name", CTC_DECODERS)
def test_ctc_decoder_accepts_float64_and_other_layouts(name):
    decoder = voxtext.registry("decoders").create(name, symbols=SYMBOLS, blank_id=0)
    log_probs, lengths = _log_probs(3, 25, seed=3), torch.tensor([25, 10, 25])
    expected = [[h.tokens for h in hyps] for hyps in decoder.decode(log_probs, lengths)]
    for variant in (log_probs.double(), log_probs.transpose(0, 1).contiguous().transpose(0, 1)):
        got = [[h.tokens for h in hyps] for hyps in decoder.decode(variant, lengths)]
        assert got == expected


@pytest.mark.parametrize("name", CTC_DECODERS)
def test_ctc_decoder_handles_empty_batches_and_impossible_tokens(name):
    decoder = voxtext.registry("decoders").create(name, symbols=SYMBOLS, blank_id=0)
    assert decoder.decode(torch.zeros(0, 5, len(SYMBOLS)), torch.zeros(0, dtype=torch.long)) == []
    empty = decoder.decode(torch.zeros(2, 0, len(SYMBOLS)), torch.tensor([0, 0]))
    assert [[h.tokens for h in hyps] for hyps in empty] == [[()], [()]]
    log_probs = _log_probs(2, 12, seed=5)
    log_probs[:, :, 2] = -torch.inf  # a token the model rules out is never emitted
    for hyps in decoder.decode(log_probs, torch.tensor([12, 7])):
        assert all(2 not in h.tokens and np.isfinite(h.score) for h in hyps)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", CTC_DECODERS)
def test_ctc_decoder_takes_cuda_tensors(name):
    decoder = voxtext.registry("decoders").create(name, symbols=SYMBOLS, blank_id=0)
    log_probs, lengths = _log_probs(3, 25, seed=4), torch.tensor([25, 10, 25])
    on_cpu = decoder.decode(log_probs, lengths)
    on_gpu = decoder.decode(log_probs.cuda(), lengths.cuda())
    assert [[h.tokens for h in r] for r in on_gpu] == [[h.tokens for h in r] for r in on_cpu]
