"""The ASR job end to end on a toy tone corpus: `voxtext train` a tiny Conformer-CTC, then
`voxtext transcribe` and `voxtext evaluate` on its checkpoint, and a clear error when the
checkpoint's encoder plugin is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxtext import cli
from voxtext.errors import VoxtextError
from voxtext.testing import isolated_plugin_manager, write_tone_corpus

CONFIG = """
task = "asr"
out_dir = "{out}"

[data]
train = "{train}"
dev = "{train}"
max_batch_seconds = 12.0
group_by = ["dialect"]

[features]
name = "fbank"
num_mel_bins = 40

[encoder]
name = "conformer"
d_model = 64
num_heads = 4
ffn_dim = 128
num_layers = 2
conv_kernel_size = 15
subsampling = 2

[trainer]
max_steps = 40
lr = 3e-3
warmup_steps = 10
eval_every_steps = 5
metric = "dev_worst_cer"
progress = false
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("asr")
    manifest = write_tone_corpus(root / "data", n=48)
    config = root / "asr.toml"
    config.write_text(CONFIG.format(out=root / "run", train=manifest))
    assert cli.main(["train", str(config), "--set", "trainer.seed=3"]) == 0
    return {"root": root, "manifest": manifest, "run": root / "run"}


def test_training_drives_the_error_rate_down(trained):
    history = [json.loads(line) for line in (trained["run"] / "metrics.jsonl").open()]
    evaluations = [h for h in history if "dev_cer" in h]
    assert evaluations[0]["dev_cer"] > 0.6  # nothing learnt after 5 steps
    assert evaluations[-1]["dev_cer"] < 0.15
    assert {"dev_cer/dialect=north", "dev_cer/dialect=south"} <= set(evaluations[-1])
    losses = [h["train_loss"] for h in history if "train_loss" in h]
    assert losses[-1] < 0.3 * losses[0]


def test_transcribe_and_evaluate_use_the_checkpoint(trained, capsys):
    rows = [json.loads(line) for line in trained["manifest"].open()]
    audio = [str(trained["manifest"].parent / r["audio"]) for r in rows[:4]]
    assert cli.main(["transcribe", str(trained["run"]), *audio]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    hyps = [line.split("\t")[1] for line in lines]
    correct = sum(h == r["text"] for h, r in zip(hyps, rows[:4], strict=True))
    assert correct >= 3
    out = trained["root"] / "pred.jsonl"
    assert (
        cli.main(
            [
                "evaluate",
                str(trained["run"]),
                str(trained["manifest"]),
                "--out",
                str(out),
                "--group",
                "dialect",
                "--decoder",
                "ctc-beam",
                "--decoder-set",
                "beam_size=4",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "cer/dialect=north" in printed
    predictions = [json.loads(line) for line in out.open()]
    assert len(predictions) == len(rows)
    assert set(predictions[0]) == {"id", "ref", "hyp", "speaker", "groups", "duration", "synthetic"}
    assert predictions[0]["groups"]["dialect"] in ("north", "south")


def test_missing_encoder_plugin_is_named_on_load(trained):
    from voxtext.asr import load_recognizer

    env = {"VOXTEXT_DISABLE_PLUGINS": "voxtext-encoders"}
    with (
        isolated_plugin_manager(env, use_entry_points=True),
        pytest.raises(VoxtextError) as info,
    ):
        load_recognizer(trained["run"])
    message = str(info.value)
    assert "encoders 'conformer' from plugin voxtext-encoders 0.1.0" in message
    assert "pip install" in message


def test_transcribe_group_option(trained, capsys):
    rows = [json.loads(line) for line in trained["manifest"].open()]
    audio = str(trained["manifest"].parent / rows[0]["audio"])
    assert cli.main(["transcribe", str(trained["run"]), audio, "--group", "dialect=north"]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == rows[0]["text"]
    assert cli.main(["transcribe", str(trained["run"]), audio, "--group", "dialect"]) == 2
    assert "expected ATTR=VALUE" in capsys.readouterr().err
