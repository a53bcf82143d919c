"""Text configs from TOML through ``voxtext train``, overrides, and the clear errors a wrong
config or dataset gets: each names what was wrong, where, and what to do instead.

Every error here comes before training starts, so these tests take fractions of a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from voxtext.cli import main
from voxtext.errors import ConfigError, DataError, VoxtextError
from voxtext.testing import write_text_dataset
from voxtext.text import TextPredictor, load_text_config, train


def write_toml(path: Path, encoder: str, files: dict[str, Path], out_dir: Path) -> Path:
    """A classification config as a user writes it (strings quoted the JSON way, valid TOML)."""
    path.write_text(
        f"""
task = "text-classification"
out_dir = {json.dumps(str(out_dir))}
label_smoothing = 0.05

[data]
train = {json.dumps(str(files["train"]))}
dev = {json.dumps(str(files["dev"]))}
batch_size = 16

[encoder]
name = "hf-text"
path = {json.dumps(encoder)}
max_length = 48

[head]
name = "sequence-classification"
pooling = "cls"

[trainer]
max_epochs = 4
lr = 1e-2
schedule = "warmup-linear"
warmup_steps = 5
metric = "dev_accuracy"
metric_mode = "max"
progress = false
device = "cpu"
""",
        encoding="utf-8",
    )
    return path


# -- voxtext train CONFIG ----------------------------------------------------------------------
def test_voxtext_train_runs_a_text_config_with_overrides_and_resume(
    tmp_path: Path,
    tiny_bert: Path,
    sentiment_files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_dir = tmp_path / "run"
    config = write_toml(tmp_path / "config.toml", str(tiny_bert), sentiment_files, out_dir)

    code = main(
        ["train", str(config), "--set", "trainer.max_epochs=2", "--set", "head.pooling=mean"]
    )
    assert code == 0
    assert "voxtext train: 20 steps, best dev_accuracy = " in capsys.readouterr().out
    saved = json.loads((out_dir / "checkpoint-20" / "metadata.json").read_text(encoding="utf-8"))
    recorded = saved["metadata"]["task_state"]["config"]
    assert recorded["trainer"]["max_epochs"] == 2 and recorded["head"]["pooling"] == "mean"
    assert recorded["label_smoothing"] == 0.05  # from the file

    # --resume continues the run to the file's 4 epochs
    assert main(["train", str(config), "--set", "head.pooling=mean", "--resume"]) == 0
    assert "voxtext train: 40 steps" in capsys.readouterr().out
    rows = [json.loads(r) for r in sentiment_files["test"].read_text().splitlines()]
    predicted = TextPredictor.load(out_dir).classify([r["text"] for r in rows])
    correct = sum(p.label == r["label"] for p, r in zip(predicted, rows, strict=True))
    assert correct >= 0.9 * len(rows)


def test_voxtext_train_reports_a_config_error_with_exit_code_2(
    tmp_path: Path, sentiment_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_toml(tmp_path / "config.toml", "", sentiment_files, tmp_path / "run")
    assert main(["train", str(config)]) == 2
    error = capsys.readouterr().err
    assert "voxtext train: error:" in error and "encoder.path is empty" in error
    assert not (tmp_path / "run" / "latest").exists()


def test_overrides_merge_into_a_toml_config(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path]
) -> None:
    path = write_toml(tmp_path / "c.toml", str(tiny_bert), sentiment_files, tmp_path / "run")
    config = load_text_config(path, ["trainer.lr=0.5", "lora.r=4", "fgm.epsilon=0.2"])
    assert config.trainer.lr == 0.5 and config.trainer.max_epochs == 4
    assert config.lora is not None and config.lora.r == 4 and config.fgm is not None
    assert config.head_spec().options == {"pooling": "cls"}
    encoder = config.encoder_spec()
    assert encoder is not None and encoder.name == "hf-text"


# -- config errors found when the config is read -----------------------------------------------
def base(
    tmp_path: Path, encoder_path: Path, files: dict[str, Path], **fields: Any
) -> dict[str, Any]:
    """A one-step classification config on ``encoder_path``; ``fields`` replace entries."""
    values: dict[str, Any] = {
        "out_dir": str(tmp_path / "run"),
        "data": {"train": str(files["train"]), "dev": str(files["dev"])},
        "encoder": {"name": "hf-text", "path": str(encoder_path)},
        "trainer": {"max_steps": 1, "progress": False, "device": "cpu"},
    }
    values.update(fields)
    return values


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": "asr"}, "task 'asr' is not a text task"),
        ({"encoder": None}, "name an encoder"),
        ({"label_smoothing": 1.5}, "label_smoothing must be in"),
        ({"fgm": {"epsilon": 0}}, "epsilon must be > 0"),
        ({"lora": {"r": 0}}, "need r > 0"),
        ({"encodr": {"name": "hf-text"}}, "encodr"),
        (
            {
                "extra_tasks": [
                    {"name": "main", "task": "token-classification", "data": {"train": "x"}}
                ]
            },
            "not 'main'",
        ),
        (
            {"extra_tasks": [{"name": "mlm", "task": "masked-lm", "data": {"train": "x"}}]},
            "cannot be an extra task",
        ),
    ],
)
def test_wrong_config_values_are_named_when_read(
    tmp_path: Path,
    tiny_bert: Path,
    sentiment_files: dict[str, Path],
    change: dict[str, Any],
    message: str,
) -> None:
    values = {**base(tmp_path, tiny_bert, sentiment_files), **change}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        load_text_config(values)


# -- errors found when training starts ---------------------------------------------------------
def test_a_dev_label_the_training_data_lacks_is_named(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path]
) -> None:
    dev = write_text_dataset(
        tmp_path / "dev",
        [
            {"text": "the food was good", "label": "pos"},
            {"text": "the film was fine", "label": "neutral"},
            {"text": "it was okay", "label": "neutral"},
        ],
    )
    values = base(tmp_path, tiny_bert, {**sentiment_files, "dev": dev})
    with pytest.raises(DataError) as error:
        train(load_text_config(values))
    message = str(error.value)
    assert str(dev) in message and "'neutral' (e.g. ex0001, 2 in all)" in message
    assert "known labels: ['neg', 'pos']" in message
    assert not (tmp_path / "run" / "latest").exists()


def test_an_unknown_ner_tag_in_dev_is_named(
    tmp_path: Path, tiny_bert: Path, ner_files: dict[str, Path]
) -> None:
    dev = tmp_path / "dev.jsonl"
    row = {"id": "d1", "tokens": ["acme", "rose"], "tags": ["B-COMPANY", "O"]}
    dev.write_text(json.dumps(row) + "\n", encoding="utf-8")
    values = base(tmp_path, tiny_bert, {**ner_files, "dev": dev}, task="token-classification")
    with pytest.raises(DataError, match=r"'B-COMPANY' \(e\.g\. d1"):
        train(load_text_config(values))


@pytest.mark.parametrize("audio_encoder", ["conformer", "transformer"])
def test_an_audio_encoder_for_a_text_task_is_refused(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path], audio_encoder: str
) -> None:
    values = base(tmp_path, tiny_bert, sentiment_files, encoder={"name": audio_encoder})
    with pytest.raises(ConfigError, match=f"'{audio_encoder}' is not a text encoder.*hf-text"):
        train(load_text_config(values))


def test_a_sequence_head_for_a_token_task_is_refused(
    tmp_path: Path, tiny_bert: Path, ner_files: dict[str, Path]
) -> None:
    values = base(
        tmp_path,
        tiny_bert,
        ner_files,
        task="token-classification",
        head={"name": "sequence-classification"},
    )
    with pytest.raises(ConfigError, match="sequence level.*token-level head"):
        train(load_text_config(values))


def test_a_token_head_for_a_classification_task_is_refused(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path]
) -> None:
    values = base(tmp_path, tiny_bert, sentiment_files, head={"name": "token-classification"})
    with pytest.raises(ConfigError, match="token level.*sequence-level head"):
        train(load_text_config(values))


@pytest.mark.parametrize(
    ("encoder", "message"),
    [
        ({"name": "hf-text", "path": ""}, "encoder.path is empty"),
        ({"name": "hf-text", "path": "/no/such/model"}, "does not exist.*never downloaded"),
        ({"name": "hf-text"}, "encoder.path is empty"),
        ({"name": "no-such-encoder"}, "no-such-encoder"),
    ],
)
def test_an_empty_or_missing_encoder_is_refused(
    tmp_path: Path,
    sentiment_files: dict[str, Path],
    encoder: dict[str, Any],
    message: str,
) -> None:
    values = base(tmp_path, Path("unused"), sentiment_files, encoder=encoder)
    with pytest.raises(VoxtextError, match=message):
        train(load_text_config(values))


def test_a_folder_without_a_model_is_refused(
    tmp_path: Path, sentiment_files: dict[str, Path]
) -> None:
    (tmp_path / "empty-model").mkdir()
    values = base(tmp_path, tmp_path / "empty-model", sentiment_files)
    with pytest.raises(ConfigError, match="has no config.json"):
        train(load_text_config(values))


def test_an_audio_augmentation_for_a_text_task_is_refused(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path]
) -> None:
    values = base(tmp_path, tiny_bert, sentiment_files, augmentations=[{"name": "spec-augment"}])
    with pytest.raises(ConfigError, match="augmentations\\[0\\].*not text.*'eda'"):
        train(load_text_config(values))


def test_lora_targets_the_encoder_lacks_are_named(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path]
) -> None:
    values = base(
        tmp_path, tiny_bert, sentiment_files, lora={"target_modules": ["q_proj", "value"]}
    )
    with pytest.raises(ConfigError, match=r"no module of the encoder is named \['q_proj'\].*query"):
        train(load_text_config(values))


def test_init_from_checks_the_encoder_it_takes_over(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path]
) -> None:
    lora_run = tmp_path / "lora-run"
    train(
        load_text_config(
            {
                **base(tmp_path, tiny_bert, sentiment_files),
                "out_dir": str(lora_run),
                "lora": {"r": 2},
            }
        )
    )

    other_name = base(
        tmp_path,
        tiny_bert,
        sentiment_files,
        init_from=str(lora_run),
        encoder={"name": "compact-bert", "texts": ["a b"]},
    )
    with pytest.raises(VoxtextError, match="LoRA adapters"):
        train(load_text_config(other_name))

    plain_run = tmp_path / "plain-run"
    train(
        load_text_config({**base(tmp_path, tiny_bert, sentiment_files), "out_dir": str(plain_run)})
    )
    other_name["init_from"] = str(plain_run)
    with pytest.raises(
        ConfigError, match="names 'compact-bert' but init_from .* holds a 'hf-text'"
    ):
        train(load_text_config(other_name))
    with pytest.raises(VoxtextError, match="no such checkpoint or run folder"):
        train(load_text_config({**other_name, "init_from": str(tmp_path / "nowhere")}))


def test_masked_lm_text_without_lines_is_refused(tmp_path: Path, tiny_bert: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    values = base(
        tmp_path,
        tiny_bert,
        {"train": empty, "dev": empty},
        task="masked-lm",
        head={"name": "masked-lm"},
    )
    with pytest.raises(DataError, match="holds no text"):
        train(load_text_config(values))


def test_a_missing_training_file_is_named(tmp_path: Path, tiny_bert: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    values = base(tmp_path, tiny_bert, {"train": missing, "dev": missing})
    with pytest.raises(DataError, match="nope.jsonl"):
        train(load_text_config(values))


def test_train_scores_data_test_per_group_after_training(
    tmp_path: Path, tiny_bert: Path, sentiment_files: dict[str, Path], text_config: Any
) -> None:
    out_dir = tmp_path / "run"
    values = text_config(
        out_dir,
        tiny_bert,
        sentiment_files,
        data={"test": str(sentiment_files["test"])},
        trainer={"max_epochs": 2},
        group_by=["source"],
    )
    train(load_text_config(values))
    metrics = json.loads((out_dir / "test" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["scores"]["support"] == 60
    fairness = json.loads((out_dir / "test" / "fairness.json").read_text(encoding="utf-8"))
    assert "source" in json.dumps(fairness)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"group_by": ["source"]}, "group_by: per-group metrics are reported on data.test"),
        (
            {"task": "masked-lm", "data": {"train": "t.txt", "test": "t.txt"}},
            "masked-LM pretraining has no test evaluation",
        ),
    ],
)
def test_settings_train_would_ignore_are_refused(
    tmp_path: Path,
    tiny_bert: Path,
    sentiment_files: dict[str, Path],
    text_config: Any,
    fields: dict[str, Any],
    message: str,
) -> None:
    values = text_config(tmp_path / "run", tiny_bert, sentiment_files, **fields)
    with pytest.raises(ConfigError, match=message):
        load_text_config(values)
