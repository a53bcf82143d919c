"""The ``whisper`` encoder: transformers' own WhisperEncoder on 30 s windows, any length
below that with a padding mask, freezing, clear errors, and CTC training through the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import voxtext
from voxtext import cli
from voxtext.errors import ConfigError
from voxtext.testing import write_tone_corpus


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer, 64-wide ``WhisperModel`` saved by transformers (80 mels)."""
    from transformers import WhisperConfig, WhisperModel

    folder = tmp_path_factory.mktemp("tiny-whisper")
    config = WhisperConfig(
        vocab_size=64,
        d_model=64,
        encoder_layers=2,
        decoder_layers=1,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        pad_token_id=1,
        bos_token_id=1,
        eos_token_id=1,
        decoder_start_token_id=2,
    )
    torch.manual_seed(0)
    WhisperModel(config).save_pretrained(folder)
    return folder


def create(**settings: object) -> torch.nn.Module:
    return voxtext.registry("encoders").create("whisper", **settings)


def test_a_30_second_window_equals_transformers_whisper_encoder(tiny_whisper: Path) -> None:
    from transformers import WhisperModel

    reference = WhisperModel.from_pretrained(tiny_whisper).encoder.eval()
    encoder = create(path=str(tiny_whisper)).eval()
    assert (encoder.input_dim, encoder.output_dim) == (80, 64)
    feats = torch.randn(2, 80, 3000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(feats).last_hidden_state
        encoded, lengths = encoder(feats.transpose(1, 2), torch.tensor([3000, 3000]))
    assert lengths.tolist() == [1500, 1500]
    torch.testing.assert_close(encoded, expected, atol=1e-5, rtol=1e-5)


def test_padded_rows_equal_rows_alone_and_lengths_halve(tiny_whisper: Path) -> None:
    encoder = create(path=str(tiny_whisper)).eval()
    generator = torch.Generator().manual_seed(2)
    lengths = torch.tensor([301, 200, 57])
    x = torch.randn(3, 301, 80, generator=generator)
    x[1, 200:] = 1e3  # junk in the padding must not leak
    x[2, 57:] = -1e3
    with torch.no_grad():
        encoded, out_lengths = encoder(x, lengths)
        assert out_lengths.tolist() == [151, 100, 29]  # (L - 1) // 2 + 1
        for row, length in enumerate(lengths.tolist()):
            alone, _ = encoder(x[row : row + 1, :length], lengths[row : row + 1])
            valid = int(out_lengths[row])
            torch.testing.assert_close(encoded[row, :valid], alone[0], atol=1e-5, rtol=1e-5)
            assert not encoded[row, valid:].any()


def test_freezing_fixes_the_conv_front_end_and_first_layers(tiny_whisper: Path) -> None:
    encoder = create(path=str(tiny_whisper), freeze_layers=1).train()
    model = encoder.model
    frozen = {id(p) for m in (model.conv1, model.conv2, model.layers[0]) for p in m.parameters()}
    frozen.add(id(model.embed_positions.weight))  # Whisper's sinusoids are never trained
    for name, parameter in model.named_parameters():
        assert parameter.requires_grad == (id(parameter) not in frozen), name
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    encoded, _ = encoder(torch.randn(2, 40, 80), torch.tensor([40, 31]))
    encoded.pow(2).mean().backward()
    optimizer.step()
    moved = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}
    for name, parameter in model.named_parameters():
        if id(parameter) in frozen:
            assert parameter.grad is None and name not in moved, f"frozen {name} changed"
    assert any(name.startswith("layers.1.") for name in moved)
    conv_only = create(path=str(tiny_whisper), freeze_conv_frontend=True)
    assert not any(p.requires_grad for p in conv_only.model.conv1.parameters())
    assert all(p.requires_grad for p in conv_only.model.layers.parameters())


def test_without_a_path_it_builds_a_random_encoder_of_the_given_sizes() -> None:
    encoder = create(input_dim=16, d_model=32, num_heads=4, ffn_dim=64, num_layers=2)
    assert (encoder.input_dim, encoder.output_dim, len(encoder.model.layers)) == (16, 32, 2)
    default = create()  # Whisper tiny's encoder sizes
    assert (default.input_dim, default.output_dim, len(default.model.layers)) == (80, 384, 4)


def test_errors_name_the_field_and_what_was_expected(tiny_whisper: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"whisper.path: .* has no config.json"):
        create(path=str(tmp_path))
    with pytest.raises(ConfigError, match=r"whisper.d_model=32 but .* d_model=64"):
        create(path=str(tiny_whisper), d_model=32)
    with pytest.raises(ConfigError, match="freeze_layers=3 but the encoder has only 2"):
        create(path=str(tiny_whisper), freeze_layers=3)
    with pytest.raises(ConfigError, match="whisper.freeze_layers must be >= 0"):
        create(freeze_layers=-1)
    encoder = create(path=str(tiny_whisper))
    with pytest.raises(ValueError, match=r"log-mel features \(batch, frames, 80\)"):
        encoder(torch.randn(1, 10, 40), torch.tensor([10]))
    with pytest.raises(ValueError, match="3001 input frames exceed the encoder's 3000"):
        encoder(torch.randn(1, 3001, 80), torch.tensor([3001]))


CONFIG = """
task = "asr"
out_dir = "{out}"

[data]
train = "{train}"
dev = "{train}"
max_batch_seconds = 12.0

[features]
name = "whisper-log-mel"

[encoder]
name = "whisper"
path = "{model}"

[trainer]
max_steps = 30
lr = 3e-3
warmup_steps = 3
eval_every_steps = 10
log_every_steps = 5
progress = false
"""


def test_ctc_training_overfits_four_utterances(tiny_whisper: Path, tmp_path: Path) -> None:
    manifest = write_tone_corpus(tmp_path / "data", n=4)
    config = tmp_path / "asr.toml"
    run = tmp_path / "run"
    config.write_text(CONFIG.format(out=run, train=manifest, model=tiny_whisper))
    assert cli.main(["train", str(config), "--set", "trainer.seed=0"]) == 0
    history = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    losses = [h["loss"] for h in history if h.get("kind") == "train"]
    print(f"whisper CTC train losses: {[round(x, 3) for x in losses]}")
    assert len(losses) >= 4 and losses[-1] < 0.5 * losses[0]


def test_a_packaged_name_is_converted_once_into_the_cache(tmp_path, monkeypatch):
    from voxtext_whisper.convert import transformers_folder
    from voxtext_whisper.packaged import resolve_ct2_model

    monkeypatch.setenv("VOXTEXT_CACHE", str(tmp_path))
    folder = transformers_folder("tiny.en", "whisper.path")
    assert folder.parent == tmp_path / "whisper" and folder.name.endswith("-transformers")
    made = (folder / "model.safetensors").stat().st_mtime_ns
    assert transformers_folder("tiny.en", "whisper.path") == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == made  # not converted again
    assert not list(folder.parent.glob("*.partial-*"))
    encoder = voxtext.registry("encoders").create("whisper", {"path": "tiny.en"})
    assert (encoder.input_dim, encoder.output_dim) == (80, 384)
    with pytest.raises(ConfigError, match="is a CTranslate2 Whisper folder; convert it first"):
        transformers_folder(resolve_ct2_model("tiny.en"), "whisper.path")
