"""Group-aware ASR training end to end on toy tone corpora (a dialect shifts every pitch):
an imbalanced corpus with balanced sampling and group-DRO (per-dialect dev CER, strategy
provenance, exact resume of the DRO weights), and a dialect-aware model with conditioning,
adapters and a dialect-ID head that reloads through ``load_recognizer``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

import voxtext
from voxtext import cli
from voxtext.asr import evaluate_manifest, load_recognizer, train
from voxtext.asr.decoding import decode_files, identify_groups
from voxtext.data.manifest import read_manifest
from voxtext.errors import VoxtextError
from voxtext.speech.scoring import grouped_error_rates
from voxtext.testing import copy_run_with_metadata, read_metadata_fixture, write_tone_corpus
from voxtext.train import CheckpointMetadata, load_checkpoint
from voxtext.train.checkpoint import checkpoint_folder, load_trainer_state, write_pointer
from voxtext.train.metadata import task_metadata

# write_tone_corpus shifts dialect k's pitches by 1 + 0.04 * (its first index in `dialects`)
IMBALANCED = ("north",) * 17 + ("south",) * 3  # 85 % north; south pitches x1.68
PITCHED = ("north",) * 18 + ("south",) * 18  # balanced; south x1.72, apart from north


def _asr_config(values: dict[str, Any]) -> Any:
    """The config through the registered ``asr`` task (which fills in the defaults)."""
    return voxtext.registry("tasks").create("asr").load_config(values, where="config")


def asr_config(
    out: Path, train_manifest: Path, dev: Path, d_model: int, subsampling: int, **extra: Any
) -> dict[str, Any]:
    return {
        "out_dir": str(out),
        "data": {"train": str(train_manifest), "dev": str(dev), "max_batch_seconds": 12.0},
        "features": {"name": "fbank", "num_mel_bins": 40},
        "encoder": {
            "name": "conformer",
            "d_model": d_model,
            "num_heads": 4,
            "ffn_dim": 2 * d_model,
            "num_layers": 2,
            "conv_kernel_size": 15,
            "subsampling": subsampling,
        },
        "group_attribute": "dialect",
        **extra,
    }


def trainer(max_steps: int, eval_every: int, **extra: Any) -> dict[str, Any]:
    return {
        "max_steps": max_steps,
        "lr": 3e-3,
        "warmup_steps": 3,
        "eval_every_steps": eval_every,
        "log_every_steps": 2,
        "metric": "dev_worst_cer",
        "progress": False,
        "seed": 5,
        "device": "cpu",  # bitwise resume; CUDA is covered in voxtext-groups tests
        **extra,
    }


def records(run: Path, kind: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    return [r for r in rows if r.get("kind", kind) == kind and r]


# -- imbalanced corpus: balanced sampling + group-DRO ----------------------------------------
@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("imbalanced")
    train_manifest = write_tone_corpus(root / "train", n=40, dialects=IMBALANCED, seed=0)
    dev = write_tone_corpus(root / "dev", n=20, dialects=IMBALANCED, seed=1)
    values = asr_config(
        root / "run",
        train_manifest,
        dev,
        d_model=32,
        subsampling=4,
        strategies=[
            {"name": "balanced-sampling", "alpha": 0.0},
            {"name": "group-dro", "step_size": 0.5, "smoothing": 0.5},
        ],
        trainer=trainer(8, 4),
    )
    result = train(_asr_config(values))
    return {"root": root, "values": values, "result": result, "run": root / "run"}


def test_imbalanced_training_reports_per_dialect_dev_cer(imbalanced):
    history = imbalanced["result"].history
    assert [h["step"] for h in history] == [4, 8]
    for metrics in history:
        north, south = metrics["dev_cer/dialect=north"], metrics["dev_cer/dialect=south"]
        assert metrics["dev_worst_cer"] == max(north, south)
    metrics = [json.loads(line) for line in (imbalanced["run"] / "metrics.jsonl").open()]
    weights = [m for m in metrics if "dro_weight/south" in m]
    assert weights, "group-DRO weights are logged with the training stats"
    assert weights[-1]["dro_weight/north"] + weights[-1]["dro_weight/south"] == pytest.approx(
        1.0, abs=1e-6
    )
    losses = [m["loss"] for m in metrics if "loss" in m]
    assert all(loss == loss for loss in losses) and losses[-1] < losses[0]


def test_checkpoint_records_every_strategy_and_the_groups(imbalanced):
    _, saved = load_checkpoint(imbalanced["result"].last_checkpoint)
    metadata = saved["metadata"]
    assert (metadata["format"], metadata["task"]) == ("voxtext.checkpoint/2", "asr")
    components, task_state = metadata["components"], metadata["task_state"]
    sampling, dro = components["group_strategy0"], components["group_strategy1"]
    assert (sampling["kind"], sampling["name"], sampling["plugin"]) == (
        "group_strategies",
        "balanced-sampling",
        "voxtext-groups",
    )
    assert sampling["config"] == {"alpha": 0.0} and sampling["version"] == "0.1.0"
    assert dro["name"] == "group-dro" and dro["config"]["step_size"] == 0.5
    assert task_state["groups"] == {
        "attribute": "dialect",
        "values": ["<unknown>", "north", "south"],
        "module_roles": [],
    }
    # the training data per group, for the model card (utterances, hours, speakers)
    rows = {(r["group"], r["value"]): r for r in task_state["training_data"]}
    total = rows[("all", "all")]["utterances"]
    assert total == sum(r["utterances"] for (g, _), r in rows.items() if g == "dialect")
    assert {v for g, v in rows if g == "dialect"} == {"north", "south"}


#: The ``metadata`` entry the voxtext of 2026-12-08 (format ``voxtext.asr/1``, before the one
#: checkpoint schema) wrote for the ``imbalanced`` run, its folder written ``{root}``.
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy" / "asr.json"


def test_a_checkpoint_of_the_format_before_the_one_schema_loads_the_same(imbalanced, tmp_path):
    legacy = read_metadata_fixture(LEGACY, root=str(imbalanced["root"]))
    assert legacy["format"] == "voxtext.asr/1" and "task" not in legacy  # as written then
    _, saved = load_checkpoint(imbalanced["result"].last_checkpoint)
    now = CheckpointMetadata.from_dict(saved["metadata"], source="now")
    upgraded = task_metadata(legacy, source=str(LEGACY))
    assert upgraded.task == now.task == "asr"
    assert upgraded.components == now.components  # every record, tokenizer and decoder too
    assert upgraded.task_state == now.task_state
    old = copy_run_with_metadata(imbalanced["run"], tmp_path / "old", legacy)
    dev = imbalanced["root"] / "dev" / "manifest.jsonl"
    hypotheses = {}
    for name, run in (("now", imbalanced["run"]), ("old", old)):
        out = tmp_path / f"{name}.jsonl"
        assert cli.main(["evaluate", str(run), str(dev), "--out", str(out)]) == 0
        hypotheses[name] = [json.loads(line)["hyp"] for line in out.open()]
    assert hypotheses["old"] == hypotheses["now"] and len(hypotheses["now"]) == 20


def test_group_dro_weights_resume_exactly(imbalanced):
    """Train 8 steps straight (the fixture) vs. resume the same run from its step-4
    checkpoint: the DRO state and the weights at step 8 are identical."""
    run, resumed = imbalanced["run"], imbalanced["root"] / "resumed"
    shutil.copytree(run, resumed)
    shutil.rmtree(checkpoint_folder(resumed, 8))
    write_pointer(resumed, "latest", checkpoint_folder(resumed, 4))
    at_4 = load_trainer_state(checkpoint_folder(resumed, 4))["extra"]["group_loss"]
    straight = load_trainer_state(checkpoint_folder(run, 8))["extra"]["group_loss"]
    assert at_4["weights"] != straight["weights"]  # the weights moved between steps 4 and 8
    assert at_4["weights"] != pytest.approx([0.0, 0.5, 0.5])  # and before step 4
    train(_asr_config({**imbalanced["values"], "out_dir": str(resumed)}), resume=True)
    again = load_trainer_state(checkpoint_folder(resumed, 8))["extra"]["group_loss"]
    assert again == straight
    weights_a, _ = load_checkpoint(checkpoint_folder(run, 8))
    weights_b, _ = load_checkpoint(checkpoint_folder(resumed, 8))
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


# -- a dialect-aware model: conditioning, adapters, dialect ID ---------------------------------
@pytest.fixture(scope="module")
def aware(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("aware")
    kwargs = {"dialects": PITCHED, "alphabet": "abc"}
    train_manifest = write_tone_corpus(root / "train", n=72, seed=0, **kwargs)
    dev = write_tone_corpus(root / "dev", n=36, seed=1, **kwargs)
    values = asr_config(
        root / "run",
        train_manifest,
        dev,
        d_model=64,  # the size test_asr_end_to_end.py shows to learn in 40 steps
        subsampling=2,
        strategies=[
            {"name": "dialect-conditioning", "embedding_dim": 8, "unknown_probability": 0.5},
            {"name": "dialect-adapters", "bottleneck": 8, "placement": "both"},
            {"name": "dialect-id", "weight": 1.0},
        ],
        trainer=trainer(40, 20),
    )
    result = train(_asr_config(values))
    return {"root": root, "dev": dev, "result": result, "run": root / "run"}


def test_dialect_id_head_learns_the_pitch_difference(aware):
    first, last = aware["result"].history
    assert last["dev_dialect_id_acc"] >= 0.85
    assert {"dev_cer/dialect=north", "dev_cer/dialect=south", "dev_worst_cer"} <= set(last)
    assert last["dev_cer"] < first["dev_cer"]


def test_dialect_aware_checkpoint_reloads_and_transcribes(aware):
    recognizer = load_recognizer(aware["run"])
    assert len(recognizer.model.group_modules) == 3
    assert recognizer.groups is not None and recognizer.groups.values[1:] == ("north", "south")
    # decoding the dev set from the reloaded checkpoint reproduces the dev CER it was chosen by
    rows = evaluate_manifest(recognizer, aware["dev"], aware["root"] / "pred.jsonl")
    _, saved = load_checkpoint(aware["result"].best_checkpoint)
    rates = grouped_error_rates(
        [r["ref"] for r in rows], [r["hyp"] for r in rows], [r["groups"] for r in rows], ["dialect"]
    )
    assert rates["dev_cer"] == pytest.approx(saved["metrics"]["dev_cer"])
    assert rates["dev_cer"] < 0.7  # it learnt to transcribe (all blanks would be 1.0)
    # an unknown or unseen dialect takes the fallback path and still transcribes
    paths = [Path(aware["dev"]).parent / f"tone{i:04d}.wav" for i in range(3)]
    unknown = recognizer.transcribe(paths)
    unseen = recognizer.transcribe(paths, groups=[{"dialect": "east"}, {}, None])
    assert unknown == unseen and all(isinstance(text, str) for text in unknown)
    blind = evaluate_manifest(
        recognizer, aware["dev"], aware["root"] / "blind.jsonl", use_groups=False
    )
    assert [r["id"] for r in blind] == [r["id"] for r in rows]


def test_the_model_identifies_each_dialect_itself_as_its_dev_accuracy_says(aware):
    recognizer = load_recognizer(aware["run"])
    utterances = read_manifest(aware["dev"])
    paths, durations = [u.audio for u in utterances], [u.duration for u in utterances]
    assert recognizer.model.identifies_groups
    found = identify_groups(recognizer.model, paths, durations, sample_rate=recognizer.sample_rate)
    assert recognizer.groups is not None
    true = recognizer.groups.ids_of([u.groups for u in utterances])
    assert set(found) <= {1, 2}  # a known dialect, never the unknown group
    accuracy = sum(f == t for f, t in zip(found, true, strict=True)) / len(true)
    _, saved = load_checkpoint(aware["result"].best_checkpoint)
    assert accuracy == pytest.approx(saved["metrics"]["dev_dialect_id_acc"])
    # decoding with the identified dialects equals decoding with the oracle ones where they agree
    oracle = decode_files(
        recognizer.model,
        recognizer.decoder,
        paths,
        durations,
        sample_rate=recognizer.sample_rate,
        group_ids=true,
    )
    predicted = decode_files(
        recognizer.model,
        recognizer.decoder,
        paths,
        durations,
        sample_rate=recognizer.sample_rate,
        group_ids=found,
    )
    assert all(o == p for o, p, f, t in zip(oracle, predicted, found, true, strict=True) if f == t)


def test_evaluate_with_predicted_groups_keeps_them_and_prints_the_id_accuracy(aware, capsys):
    out = aware["root"] / "predicted.jsonl"
    code = cli.main(
        [
            "evaluate",
            str(aware["run"]),
            str(aware["dev"]),
            "--out",
            str(out),
            "--groups",
            "predicted",
            "--group",
            "dialect",
        ]
    )
    assert code == 0
    printed = dict(
        line.split("\t")[:2] for line in capsys.readouterr().out.splitlines() if "\t" in line
    )
    rows = [json.loads(line) for line in out.open()]
    assert all(r["extra"]["predicted_groups"]["dialect"] in {"north", "south"} for r in rows)
    right = sum(r["extra"]["predicted_groups"]["dialect"] == r["groups"]["dialect"] for r in rows)
    _, saved = load_checkpoint(aware["result"].best_checkpoint)
    assert float(printed["dialect_id_accuracy"]) == pytest.approx(right / len(rows), abs=1e-4)
    assert right / len(rows) == pytest.approx(saved["metrics"]["dev_dialect_id_acc"])
    assert "cer/dialect=north" in printed
    meta = json.loads(out.with_name("predicted.meta.json").read_text())
    assert meta["recognizer"]["settings"]["groups_from"] == "identified from audio"
    assert meta["use_groups"] is False


def test_predicted_groups_are_refused_for_a_model_that_cannot_identify_them(imbalanced):
    recognizer = load_recognizer(imbalanced["run"])
    with pytest.raises(VoxtextError, match="cannot identify groups from audio"):
        recognizer.as_recognizer(identify_groups=True)
