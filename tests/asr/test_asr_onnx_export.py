"""`voxtext export --format onnx` on tiny trained CTC models (Conformer and Transformer, fbank
+ global CMVN front end): onnxruntime's log-probs against PyTorch eager at several batch
sizes and lengths through the dynamic axes, the same greedy transcripts on the training set,
`transcribe`/`evaluate --runtime onnx` against the torch runtime, and the clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from voxtext import cli
from voxtext.testing import write_tone_corpus

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

CONFIG = """
task = "asr"
out_dir = "{out}"

[data]
train = "{train}"
dev = "{train}"
max_batch_seconds = 12.0

[features]
name = "fbank"
num_mel_bins = 40

[encoder]
name = "{encoder}"
d_model = 64
num_heads = 4
ffn_dim = 128
num_layers = 2
subsampling = 2
{extra}

[trainer]
max_steps = 40
lr = 3e-3
warmup_steps = 10
eval_every_steps = 20
metric = "dev_cer"
progress = false
"""

ENCODERS = {"conformer": "conv_kernel_size = 15", "transformer": ""}
#: (batch size, longest seconds): batch 1 and long inputs too, through the dynamic axes
SHAPES = ((1, 0.5), (1, 4.0), (3, 1.2), (6, 2.5))
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tone_corpus(tmp_path_factory.mktemp("onnx-data"), n=32)


@pytest.fixture(scope="module", params=sorted(ENCODERS))
def exported(request, corpus, tmp_path_factory) -> dict[str, Path]:
    """A tiny model trained on the tone corpus and exported with `voxtext export`."""
    root = tmp_path_factory.mktemp(f"onnx-{request.param}")
    config = root / "asr.toml"
    config.write_text(
        CONFIG.format(
            out=root / "run", train=corpus, encoder=request.param, extra=ENCODERS[request.param]
        )
    )
    assert cli.main(["train", str(config), "--set", "trainer.seed=3"]) == 0
    out = root / "onnx"
    assert cli.main(["export", str(root / "run"), "--format", "onnx", "--out", str(out)]) == 0
    return {"run": root / "run", "onnx": out, "root": root}


def test_export_writes_a_dynamic_graph_and_its_metadata(exported, capsys):
    import onnx

    metadata = json.loads((exported["onnx"] / "metadata.json").read_text())
    assert metadata["format"] == "voxtext.asr-onnx/2"
    checkpoint = metadata["checkpoint_metadata"]  # the checkpoint's, whole
    assert checkpoint["format"] == "voxtext.checkpoint/2" and checkpoint["task"] == "asr"
    components = checkpoint["components"]
    assert components["decoder"]["name"] == "ctc-greedy"
    assert components["tokenizer"]["name"] == "char"
    assert components["normalizer"]["name"] == "cmvn-global"
    assert checkpoint["task_state"]["sample_rate"] == 16000
    assert [i["name"] for i in metadata["inputs"]] == ["waveforms", "lengths"]
    assert metadata["exporter"]["versions"]["torch"] == torch.__version__.split("+")[0]
    assert metadata["parity"]["max_abs_diff_log_probs"] <= TOLERANCE
    graph = onnx.load(str(exported["onnx"] / "model.onnx")).graph
    inputs = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in graph.input
    }
    assert set(inputs) == {"waveforms", "lengths"}
    # symbolic (named) dimensions, not the example batch's sizes
    assert all(isinstance(d, str) and d for d in inputs["waveforms"] + inputs["lengths"])


def test_log_probs_match_eager_at_every_batch_size_and_length(exported):
    from voxtext.asr import load_recognizer
    from voxtext.asr.onnx_export import valid_max_abs_diff
    from voxtext.asr.onnx_runtime import OnnxCTCModel

    model = load_recognizer(exported["run"]).model
    session = OnnxCTCModel(exported["onnx"] / "model.onnx")
    generator = torch.Generator().manual_seed(1)
    diffs = []
    for batch, seconds in SHAPES:
        samples = round(seconds * 16000)
        waveforms = 0.1 * torch.randn(batch, samples, generator=generator)
        lengths = torch.randint(samples // 2, samples + 1, (batch,), generator=generator)
        lengths[0] = samples
        for row, length in enumerate(lengths.tolist()):
            waveforms[row, length:] = 0.0
        with torch.no_grad():
            expected, expected_lengths = model(waveforms, lengths)
        got, got_lengths = session(waveforms, lengths)
        assert got.shape == expected.shape
        assert torch.equal(got_lengths, expected_lengths)
        diffs.append(valid_max_abs_diff(expected, got, expected_lengths))
    print(f"onnxruntime vs eager, max abs diff of log-probs per (batch, seconds): {diffs}")
    assert max(diffs) <= TOLERANCE


def test_greedy_transcripts_match_on_the_test_set(exported, corpus, capsys):
    outputs = {}
    for runtime, model in (("torch", exported["run"]), ("onnx", exported["onnx"])):
        out = exported["root"] / f"pred-{runtime}.jsonl"
        argv = ["evaluate", str(model), str(corpus), "--out", str(out), "--runtime", runtime]
        assert cli.main(argv) == 0
        outputs[runtime] = [json.loads(line) for line in out.open()]
    capsys.readouterr()
    torch_rows, onnx_rows = outputs["torch"], outputs["onnx"]
    assert len(onnx_rows) == len(torch_rows) == 32
    assert [r["hyp"] for r in onnx_rows] == [r["hyp"] for r in torch_rows]
    # a model that learnt something, so equal transcripts are not equal empty strings
    assert sum(r["hyp"] == r["ref"] for r in onnx_rows) >= 24


def test_transcribe_runtime_onnx_prints_what_torch_prints(exported, corpus, capsys):
    rows = [json.loads(line) for line in corpus.open()]
    audio = [str(corpus.parent / r["audio"]) for r in rows[:4]]
    printed = {}
    for runtime, model in (("torch", exported["run"]), ("onnx", exported["onnx"])):
        argv = ["transcribe", str(model), *audio, "--runtime", runtime, "--format", "json"]
        assert cli.main(argv) == 0
        printed[runtime] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for ours, theirs in zip(printed["onnx"], printed["torch"], strict=True):
        assert ours["text"] == theirs["text"]
        assert [w["text"] for w in ours["words"]] == [w["text"] for w in theirs["words"]]
        assert ours["start"] == pytest.approx(theirs["start"], abs=1e-3)
        assert ours["end"] == pytest.approx(theirs["end"], abs=1e-3)
    assert sum(p["text"] == r["text"] for p, r in zip(printed["onnx"], rows, strict=False)) >= 3


def test_onnx_runtime_errors_are_clear(exported, corpus, capsys):
    audio = str(corpus.parent / json.loads(corpus.open().readline())["audio"])
    assert cli.main(["transcribe", str(exported["run"]), audio, "--runtime", "onnx"]) == 2
    assert "voxtext export CHECKPOINT --format onnx" in capsys.readouterr().err
    argv = ["transcribe", str(exported["onnx"]), audio, "--runtime", "onnx", "--device", "cuda"]
    assert cli.main(argv) == 2
    assert "--runtime onnx runs on CPU" in capsys.readouterr().err


def test_export_refuses_unknown_formats_and_other_tasks(tmp_path, capsys):
    from voxtext.train.checkpoint import save_checkpoint

    text_model = tmp_path / "text-checkpoint"
    save_checkpoint(
        text_model,
        {"w": torch.zeros(1)},
        {"metadata": {"task": "text-classification", "format": "voxtext.text/2"}},
    )
    out = str(tmp_path / "out")
    assert cli.main(["export", str(text_model), "--format", "tflite", "--out", out]) == 2
    assert "unknown export format; known: onnx" in capsys.readouterr().err
    assert cli.main(["export", str(text_model), "--format", "onnx", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "task 'text-classification' cannot be exported to ONNX" in err
    assert "CTC speech recognisers" in err
