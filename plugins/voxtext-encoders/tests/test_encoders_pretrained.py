"""pretrained-audio: loads tiny checkpoints through the real ``AutoModel.from_pretrained`` path,
matches transformers' own preprocessing + model, freezes what it says, and fails clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from voxtext_encoders.testing import save_tiny_audio_model

import voxtext
from voxtext.errors import ConfigError
from voxtext.protocols import encoder_takes_waveform

ARCHITECTURES = ["wav2vec2", "hubert", "wavlm"]


def create(path: Path, **settings: object) -> torch.nn.Module:
    return voxtext.registry("encoders").create("pretrained-audio", path=str(path), **settings)


def waveforms() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    lengths = torch.tensor([3200, 2100])
    x = torch.randn(2, 3200, generator=generator) * 0.3
    x[1, 2100:] = 0.0  # zero padding, as collate_waveforms pads
    return x, lengths


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_matches_transformers_feature_extractor_plus_model(
    architecture: str, tmp_path: Path
) -> None:
    from transformers import AutoModel, Wav2Vec2FeatureExtractor

    path = save_tiny_audio_model(tmp_path, architecture)  # type: ignore[arg-type]
    encoder = create(path).eval()
    assert encoder_takes_waveform(encoder) and encoder.sample_rate == 16000
    x, lengths = waveforms()
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(path)
    rows = [x[i, :n].numpy() for i, n in enumerate(lengths.tolist())]
    inputs = extractor(rows, sampling_rate=16000, padding=True, return_tensors="pt")
    reference_model = AutoModel.from_pretrained(path).eval()
    with torch.no_grad():
        encoded, out_lengths = encoder(x, lengths)
        reference = reference_model(**inputs).last_hidden_state
    assert out_lengths.tolist() == [158, 103]  # (3200 - 10) // 5 + 1 = 639, (639 - 8) // 4 + 1
    for row, valid in enumerate(out_lengths.tolist()):
        torch.testing.assert_close(encoded[row, :valid], reference[row, :valid])
        assert not encoded[row, valid:].any()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_freezing_sets_requires_grad_and_only_unfrozen_weights_move(
    architecture: str, tmp_path: Path
) -> None:
    path = save_tiny_audio_model(tmp_path, architecture)  # type: ignore[arg-type]
    encoder = create(path, freeze_feature_encoder=True, freeze_layers=1).train()
    model = encoder.model
    frozen_modules = [
        model.feature_extractor,
        model.feature_projection,
        model.encoder.pos_conv_embed,
        model.encoder.layers[0],
    ]
    frozen = {id(p) for module in frozen_modules for p in module.parameters()}
    for name, parameter in model.named_parameters():
        assert parameter.requires_grad == (id(parameter) not in frozen), name
    assert all(p.requires_grad for p in model.encoder.layers[1].parameters())

    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, lengths = waveforms()
    encoded, _ = encoder(x, lengths)
    encoded.pow(2).mean().backward()
    optimizer.step()
    for name, parameter in model.named_parameters():
        moved = not torch.equal(parameter.detach(), before[name])
        if id(parameter) in frozen:
            assert parameter.grad is None and not moved, f"frozen {name} changed"
    trainable_moved = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and not torch.equal(p.detach(), before[name])
    ]
    assert any(name.startswith("encoder.layers.1.") for name in trainable_moved)


def test_feature_encoder_can_be_trained_too(tmp_path: Path) -> None:
    path = save_tiny_audio_model(tmp_path)
    encoder = create(path, freeze_feature_encoder=False)
    assert all(p.requires_grad for p in encoder.parameters())
    default = create(path)  # the usual recipe freezes the convolutions
    assert not any(p.requires_grad for p in default.model.feature_extractor.parameters())
    assert all(p.requires_grad for p in default.model.encoder.parameters())


def test_group_norm_checkpoints_get_no_attention_mask_by_default(tmp_path: Path) -> None:
    path = save_tiny_audio_model(tmp_path, feat_extract_norm="group")
    encoder = create(path).eval()
    assert encoder.use_attention_mask is False
    assert create(path, use_attention_mask=True).use_attention_mask is True
    x, lengths = waveforms()
    with torch.no_grad():
        encoded, out_lengths = encoder(x, lengths)
    assert encoded.shape == (2, 158, 32) and out_lengths.tolist() == [158, 103]


def test_a_ctc_checkpoint_loads_its_base_model(tmp_path: Path) -> None:
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC
    from voxtext_encoders.testing import TINY_SIZES

    config = Wav2Vec2Config(**TINY_SIZES, feat_extract_norm="layer", do_stable_layer_norm=True)
    torch.manual_seed(0)
    ctc_model = Wav2Vec2ForCTC(config).eval()
    ctc_model.save_pretrained(tmp_path)
    encoder = create(tmp_path, normalize_waveform=False).eval()
    x, lengths = waveforms()
    mask = (torch.arange(3200)[None, :] < lengths[:, None]).long()
    with torch.no_grad():
        encoded, out_lengths = encoder(x, lengths)
        expected = ctc_model.wav2vec2(x, attention_mask=mask).last_hidden_state
    assert out_lengths.tolist() == [158, 103]
    torch.testing.assert_close(encoded[0], expected[0])
    torch.testing.assert_close(encoded[1, :103], expected[1, :103])


def test_accepts_protocol_shaped_input_and_rejects_features(tmp_path: Path) -> None:
    encoder = create(save_tiny_audio_model(tmp_path)).eval()
    x, lengths = waveforms()
    with torch.no_grad():
        flat, _ = encoder(x, lengths)
        shaped, _ = encoder(x.unsqueeze(-1), lengths)  # (batch, samples, input_dim=1)
    torch.testing.assert_close(flat, shaped)
    with pytest.raises(ValueError, match=r"raw waveforms \(batch, samples\)"):
        encoder(torch.randn(2, 100, 80), torch.tensor([100, 80]))
    with pytest.raises(ValueError, match="long enough for one frame"):
        encoder(x, torch.tensor([3200, 12]))


def test_missing_path_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist.*save_pretrained\(\) of a Wav2Vec2"):
        create(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="has no config.json"):
        create(tmp_path)
    with pytest.raises(ConfigError, match="missing required field 'path'"):
        voxtext.registry("encoders").create("pretrained-audio")


def test_a_text_model_is_refused(tmp_path: Path) -> None:
    from transformers import BertConfig

    BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="'bert' model, which is not a waveform audio encoder"):
        create(tmp_path)


def test_config_without_weights_is_refused(tmp_path: Path) -> None:
    path = save_tiny_audio_model(tmp_path)
    (path / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match="cannot load"):
        create(path)


def test_freeze_more_layers_than_exist_is_refused(tmp_path: Path) -> None:
    path = save_tiny_audio_model(tmp_path)
    with pytest.raises(ConfigError, match="freeze_layers=3 but .* has only 2 transformer layers"):
        create(path, freeze_layers=3)


def test_preprocessor_config_decides_normalisation(tmp_path: Path) -> None:
    path = save_tiny_audio_model(tmp_path)
    assert create(path).normalize_waveform is True
    (path / "preprocessor_config.json").write_text(json.dumps({"do_normalize": False}))
    assert create(path).normalize_waveform is False
    (path / "preprocessor_config.json").unlink()
    assert create(path).normalize_waveform is True  # Wav2Vec2FeatureExtractor's default
