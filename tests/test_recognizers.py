"""Recognisers as a component kind: the ``register_recognizers`` hook, the ``Recognizer``
protocol, ``voxtext evaluate NAME MANIFEST`` dispatch (path -> checkpoint, else registry
name), and a trained checkpoint behind the same protocol."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

import voxtext
from voxtext import cli, hookimpl
from voxtext.asr import CheckpointRecognizer, Recognizer, evaluate_manifest, metadata_path
from voxtext.commands.plugins import collect
from voxtext.errors import VoxtextError
from voxtext.protocols import Hypothesis, RecognitionInput, Transcript
from voxtext.protocols import Recognizer as RecognizerProtocol
from voxtext.testing import write_speech_manifest
from voxtext.train import CheckpointMetadata


@dataclass(frozen=True)
class CountingConfig:
    prefix: str = "heard"
    sample_rate: int = 8000


class CountingRecognizer:
    """Says what it was given: the oracle dialect and the number of samples."""

    def __init__(self, config: CountingConfig) -> None:
        self.config = config
        self.sample_rate = config.sample_rate
        self.calls: list[int] = []

    def transcribe(self, items: Any) -> list[Transcript]:
        self.calls.append(len(items))
        out = []
        for item in items:
            assert item.waveform.dtype == np.float32 and item.waveform.ndim == 1
            assert item.sample_rate == self.sample_rate
            dialect = item.groups.get("dialect", "none")
            info = {"samples": len(item.waveform)}
            out.append(Transcript(f"{self.config.prefix} {dialect}", info))
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "engine": "counting",
            "model": "none",
            "version": "1",
            "settings": {"prefix": self.config.prefix},
        }


class CountingPlugin:
    @hookimpl
    def register_recognizers(self, register: Any) -> None:
        register("counting", CountingRecognizer, config=CountingConfig, description="test")


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_speech_manifest(tmp_path / "data", n=4, groups={"dialect": ["north", "south"]})


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def test_the_hook_fills_the_recognizers_registry(voxtext_plugin):
    voxtext_plugin(CountingPlugin(), name="counting-plugin")
    registry = voxtext.registry("recognizers")
    assert "counting" in registry.names()
    recognizer = registry.create("counting", prefix="x")
    assert isinstance(recognizer, RecognizerProtocol)
    plugin = next(p for p in collect()["plugins"] if p["name"] == "counting-plugin")
    assert plugin["components"] == {"recognizers": ["counting"]}
    assert plugin["hooks"] == ["register_recognizers"]


def test_evaluate_a_registered_recognizer_end_to_end(voxtext_plugin, manifest, tmp_path, capsys):
    voxtext_plugin(CountingPlugin(), name="counting-plugin", version="2.5")
    out = tmp_path / "out" / "pred.jsonl"
    argv = ["evaluate", "counting", str(manifest), "--out", str(out), "--group", "dialect"]
    assert cli.main([*argv, "--recognizer-set", "prefix=said"]) == 0
    assert "cer/dialect=north" in capsys.readouterr().out
    expected = _rows(manifest)
    predictions = _rows(out)
    assert [p["id"] for p in predictions] == [e["id"] for e in expected]
    for prediction, row in zip(predictions, expected, strict=True):
        assert prediction["ref"] == row["text"] and prediction["speaker"] == row["speaker"]
        assert prediction["groups"] == row["groups"]
        assert prediction["hyp"] == f"said {row['groups']['dialect']}"  # oracle groups passed
        # audio read at the recogniser's 8 kHz from the 16 kHz files
        assert prediction["extra"]["samples"] == pytest.approx(row["duration"] * 8000, abs=2)
    sidecar = json.loads(metadata_path(out).read_text(encoding="utf-8"))
    assert metadata_path(out) == out.with_name("pred.meta.json")
    assert sidecar["recognizer"] == {
        "engine": "counting",
        "model": "none",
        "version": "1",
        "settings": {"prefix": "said"},
    }
    assert sidecar["source"] == {
        "recognizer": "counting",
        "plugin": "counting-plugin",
        "plugin_version": "2.5",
        "config": {"prefix": "said", "sample_rate": 8000},
    }
    assert sidecar["utterances"] == len(expected)


def test_predictions_of_a_recognizer_feed_the_fairness_report(
    voxtext_plugin, manifest, tmp_path, capsys
):
    if "asr-group-errors" not in voxtext.registry("fairness_evaluators"):
        pytest.skip("voxtext-fairness is not installed")
    voxtext_plugin(CountingPlugin(), name="counting-plugin")
    out = tmp_path / "pred.jsonl"
    assert cli.main(["evaluate", "counting", str(manifest), "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["report", str(out), "--group", "dialect", "--n-boot", "20"]) == 0
    printed = capsys.readouterr().out
    assert "north" in printed
    # the report says what was audited, from the predictions' sidecar
    assert "- Audited system: engine counting, model none, version 1." in printed
    as_json = tmp_path / "report.json"
    argv = ["report", str(out), "--group", "dialect", "--n-boot", "20", "--format", "json"]
    assert cli.main([*argv, "--out", str(as_json)]) == 0
    assert json.loads(as_json.read_text())["audited"]["settings"] == {"prefix": "heard"}
    metadata_path(out).write_text("{not json")
    assert cli.main(argv) == 2
    assert "pred.meta.json: not valid JSON" in capsys.readouterr().err
    metadata_path(out).unlink()  # predictions without a sidecar still report
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["audited"] == {}


def test_unknown_name_lists_the_recognizers_and_says_no_path_exists(
    voxtext_plugin, manifest, capsys
):
    voxtext_plugin(CountingPlugin(), name="counting-plugin")
    assert cli.main(["evaluate", "countin", str(manifest)]) == 2
    error = capsys.readouterr().err
    assert "'countin' is not an existing path" in error
    assert "Did you mean 'counting'?" in error
    assert "Known recognizers: counting" in error


def test_checkpoint_options_are_refused_for_a_recognizer_name(voxtext_plugin, manifest, capsys):
    voxtext_plugin(CountingPlugin(), name="counting-plugin")
    argv = ["evaluate", "counting", str(manifest), "--decoder-set", "beam_size=4"]
    assert cli.main(argv) == 2
    assert "--decoder-set: for checkpoints only" in capsys.readouterr().err


def test_recognizer_options_are_refused_for_a_checkpoint_path(manifest, tmp_path, capsys):
    argv = ["evaluate", str(tmp_path), str(manifest), "--recognizer-set", "beam_size=4"]
    assert cli.main(argv) == 2
    assert "--recognizer-set configures a registered recogniser" in capsys.readouterr().err


def test_bad_recognizer_setting_names_the_field(voxtext_plugin, manifest, capsys):
    voxtext_plugin(CountingPlugin(), name="counting-plugin")
    argv = ["evaluate", "counting", str(manifest), "--recognizer-set", "prefx=a"]
    assert cli.main(argv) == 2
    assert "unknown field 'prefx'. Did you mean 'prefix'?" in capsys.readouterr().err


def test_evaluate_manifest_chunks_long_manifests_and_can_hide_groups(manifest, tmp_path):
    recognizer = CountingRecognizer(CountingConfig(sample_rate=16000))
    out = tmp_path / "pred.jsonl"
    rows = evaluate_manifest(recognizer, manifest, out, use_groups=False, chunk_seconds=1.0)
    assert len(recognizer.calls) > 1 and sum(recognizer.calls) == 4  # several calls, all rows
    assert [r["hyp"] for r in rows] == ["heard none"] * 4
    assert [r["groups"]["dialect"] for r in rows] == ["north", "south"] * 2  # still recorded
    assert _rows(out) == rows
    assert json.loads(metadata_path(out).read_text())["use_groups"] is False


def test_a_recognizer_returning_too_few_results_is_an_error(manifest, tmp_path):
    class Forgetful(CountingRecognizer):
        def transcribe(self, items: Any) -> list[Transcript]:
            return super().transcribe(items)[:-1]

    with pytest.raises(VoxtextError, match="returned 3 results for 4 utterances"):
        evaluate_manifest(Forgetful(CountingConfig()), manifest, tmp_path / "p.jsonl")


# -- a checkpoint behind the protocol, with a stand-in model (no training) ------------------
class LengthModel(torch.nn.Module):
    """Frames = samples // 100; remembers the group ids it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[int] = []

    def forward(self, waveforms, lengths, _targets, group_ids):  # type: ignore[no-untyped-def]
        self.seen += group_ids.tolist()
        frames = lengths // 100
        return torch.zeros(len(lengths), int(frames.max()), 2), frames


class LengthDecoder:
    def decode(self, log_probs, lengths):  # type: ignore[no-untyped-def]
        return [[Hypothesis((), str(int(n)))] for n in lengths]


def _checkpoint(model: LengthModel, decoder: Any = None) -> Recognizer:
    record = {"kind": "decoders", "name": "d", "plugin": "p", "version": "1", "config": {}}
    components = {
        "encoder": {**record, "kind": "encoders", "name": "e"},
        "tokenizer": {**record, "kind": "tokenizers", "config": {"vocabulary": ["a"]}},
        "decoder": record,
    }
    groups = {"attribute": "dialect", "values": ["<unknown>", "north", "south"]}
    metadata = CheckpointMetadata("asr", components, {"groups": groups})
    return Recognizer(
        model, SimpleNamespace(), decoder or LengthDecoder(), 16000, Path("run"), metadata
    )


def test_a_checkpoint_is_a_recognizer():
    model = LengthModel()
    recognizer = _checkpoint(model).as_recognizer()
    assert isinstance(recognizer, CheckpointRecognizer)
    assert isinstance(recognizer, RecognizerProtocol)
    items = [
        RecognitionInput("a", np.zeros(16000, np.float32), 16000, {"dialect": "south"}),
        RecognitionInput("b", np.zeros(8000, np.float32), 8000, {}),  # resampled to 16 kHz
        RecognitionInput("c", np.zeros(3200, np.float32), 16000, {"dialect": "east"}),
    ]
    assert [t.text for t in recognizer.transcribe(items)] == ["160", "160", "32"]
    assert sorted(model.seen) == [0, 0, 2]  # unknown for none and for an unseen value
    described = recognizer.describe()
    assert described["engine"] == "voxtext" and described["model"] == "run"
    assert described["version"] == voxtext.__version__
    assert described["settings"]["decoder"]["name"] == "d"
    assert "config" not in described["settings"]["tokenizer"]
    json.dumps(described)


def test_a_checkpoint_evaluates_through_the_same_path(manifest, tmp_path):
    out = tmp_path / "pred.jsonl"
    rows = evaluate_manifest(_checkpoint(LengthModel()), manifest, out)
    expected = _rows(manifest)
    assert [r["hyp"] for r in rows] == [str(round(e["duration"] * 160)) for e in expected]
    assert set(rows[0]) == {"id", "ref", "hyp", "speaker", "groups", "duration", "synthetic"}
    assert json.loads(metadata_path(out).read_text())["recognizer"]["engine"] == "voxtext"


# -- contract over every installed recogniser ------------------------------------------------
INSTALLED = voxtext.registry("recognizers").names()


@pytest.mark.parametrize("name", INSTALLED or [pytest.param("none", marks=pytest.mark.skip)])
def test_every_installed_recognizer_keeps_the_contract(name):
    from voxtext.testing import speech_like

    recognizer = voxtext.registry("recognizers").create(name)
    assert isinstance(recognizer, RecognizerProtocol)
    rate = recognizer.sample_rate
    items = [
        RecognitionInput("a", speech_like(1.0, rate, seed=1), rate),
        RecognitionInput("b", speech_like(0.5, rate, seed=2), rate, {"dialect": "x"}),
    ]
    transcripts = recognizer.transcribe(items)
    assert len(transcripts) == 2
    assert all(isinstance(t, Transcript) and isinstance(t.text, str) for t in transcripts)
    json.dumps([dict(t.info) for t in transcripts])
    described = recognizer.describe()
    assert {"engine", "model", "version", "settings"} <= set(described)
    json.dumps(described)
