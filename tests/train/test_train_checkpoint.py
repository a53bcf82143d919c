"""Checkpoints: atomic writes, pointers, pruning, averaging and clear loading errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import train_toy_task as toy

import voxtext.train.checkpoint as ckpt
from voxtext.train import (
    CheckpointError,
    Trainer,
    average_checkpoints,
    list_checkpoints,
    load_checkpoint,
)


def _state(value: float, step: int) -> dict[str, torch.Tensor]:
    return {
        "weight": torch.full((2, 3), value),
        "half": torch.full((4,), value, dtype=torch.float16),
        "count": torch.tensor(step),
    }


def _save(run: Path, step: int, value: float) -> Path:
    folder = ckpt.save_checkpoint(
        ckpt.checkpoint_folder(run, step), _state(value, step), {"step": step}, {"step": step}
    )
    ckpt.write_pointer(run, "latest", folder)
    return folder


def test_a_failed_save_leaves_the_previous_latest_loadable(tmp_path: Path, monkeypatch) -> None:
    _save(tmp_path, 1, 1.0)

    def torch_save_then_die(obj: object, path: Path) -> None:
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", torch_save_then_die)
    with pytest.raises(OSError, match="disk full"):
        _save(tmp_path, 2, 2.0)
    state, metadata = load_checkpoint(tmp_path, which="latest")
    assert metadata["step"] == 1 and torch.equal(state["weight"], _state(1.0, 1)["weight"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-1", "latest"]


def test_a_crash_mid_save_is_cleaned_up_and_training_resumes(tmp_path: Path, monkeypatch) -> None:
    data = toy.make_dataset(24)
    config = toy.config(max_steps=10, eval_every_steps=5)
    real_save = torch.save
    calls = []

    def crash_on_second_save(obj: object, path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"\x00" * 10)
            raise KeyboardInterrupt  # as if the job were killed mid-write
        real_save(obj, path)

    monkeypatch.setattr(ckpt.torch, "save", crash_on_second_save)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config, toy.make_model(), toy.loss_fn, toy.make_batches(data), tmp_path).fit()
    assert (tmp_path / "latest").read_text().strip() == "checkpoint-5"
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-5"]
    (tmp_path / ".tmp-checkpoint-10-leftover").mkdir()  # what a hard kill would leave
    result = Trainer(config, toy.make_model(), toy.loss_fn, toy.make_batches(data), tmp_path).fit(
        resume=True
    )
    assert result.steps == 10 and not list(tmp_path.glob(".tmp-*"))


def test_keep_last_prunes_old_checkpoints_but_never_the_best(tmp_path: Path) -> None:
    scores = iter([0.1, 0.5, 0.4, 0.3, 0.2, 0.6])
    result = Trainer(
        toy.config(max_steps=30, eval_every_steps=5, metric="wer", keep_last=2),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(toy.make_dataset(24)),
        tmp_path,
        evaluate=lambda m: {"wer": next(scores)},
    ).fit()
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert names == ["checkpoint-5", "checkpoint-25", "checkpoint-30"]
    assert result.best_checkpoint == tmp_path / "checkpoint-5"


def test_averaging_the_last_n_equals_the_manual_mean(tmp_path: Path) -> None:
    result = Trainer(
        toy.config(max_steps=20, eval_every_steps=5, keep_last=3, average_last_n=3),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(toy.make_dataset(24)),
        tmp_path,
    ).fit()
    assert result.averaged_checkpoint == tmp_path / "averaged"
    averaged, metadata = load_checkpoint(tmp_path, which="averaged")
    assert metadata["averaged_from"] == ["checkpoint-10", "checkpoint-15", "checkpoint-20"]
    states = [load_checkpoint(tmp_path / f"checkpoint-{s}")[0] for s in (10, 15, 20)]
    for name, value in averaged.items():
        torch.testing.assert_close(value, sum(s[name] for s in states) / 3)


def test_averaging_the_best_n_keeps_and_uses_them(tmp_path: Path) -> None:
    scores = iter([0.3, 0.1, 0.5, 0.2, 0.6, 0.7])
    Trainer(
        toy.config(max_steps=30, eval_every_steps=5, metric="wer", keep_last=1, average_best_n=2),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(toy.make_dataset(24)),
        tmp_path,
        evaluate=lambda m: {"wer": next(scores)},
    ).fit()
    _, metadata = load_checkpoint(tmp_path / "averaged")
    assert metadata["averaged_from"] == ["checkpoint-10", "checkpoint-20"]
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "checkpoint-10",
        "checkpoint-20",
        "checkpoint-30",
    ]


def test_average_checkpoints_takes_integers_from_the_last(tmp_path: Path) -> None:
    paths = [_save(tmp_path, step, value) for step, value in [(1, 1.0), (2, 2.0), (3, 6.0)]]
    averaged = average_checkpoints(paths)
    assert torch.equal(averaged["weight"], torch.full((2, 3), 3.0))
    assert averaged["half"].dtype == torch.float16 and float(averaged["half"][0]) == 3.0
    assert int(averaged["count"]) == 3


def test_average_checkpoints_refuses_different_models(tmp_path: Path) -> None:
    a = _save(tmp_path, 1, 1.0)
    b = ckpt.save_checkpoint(
        tmp_path / "other", {**_state(1.0, 1), "weight": torch.zeros(3, 3)}, {}
    )
    with pytest.raises(CheckpointError, match=r"'weight' is \(3, 3\) in .*other but \(2, 3\)"):
        average_checkpoints([a, b])


def test_tied_weights_are_saved(tmp_path: Path) -> None:
    shared = torch.nn.Parameter(torch.randn(4, 4))
    folder = ckpt.save_checkpoint(tmp_path / "c", {"a": shared, "b": shared}, {})
    state, _ = load_checkpoint(folder)
    assert torch.equal(state["a"], state["b"])


def test_loading_errors_name_the_path_and_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="nowhere: no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere")
    folder = _save(tmp_path, 1, 1.0)
    model_file = folder / "model.safetensors"
    model_file.write_bytes(model_file.read_bytes()[:40])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: cannot read the weights"):
        load_checkpoint(folder)
    _save(tmp_path, 2, 2.0)
    (tmp_path / "checkpoint-2" / "metadata.json").write_text("{broken")
    with pytest.raises(CheckpointError, match=r"metadata\.json: not valid JSON"):
        load_checkpoint(tmp_path / "checkpoint-2")
    (tmp_path / "checkpoint-2" / "model.safetensors").unlink()
    with pytest.raises(
        CheckpointError,
        match=r"latest: names .*checkpoint-2, which is missing or has no model\.safetensors",
    ):
        load_checkpoint(tmp_path, which="latest")
    with pytest.raises(CheckpointError, match="no 'best' pointer"):
        load_checkpoint(tmp_path, which="best")


def test_resume_from_weights_only_folder_is_refused(tmp_path: Path) -> None:
    ckpt.save_checkpoint(tmp_path / "weights", toy.make_model().state_dict(), {})
    trainer = Trainer(
        toy.config(max_steps=2),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(toy.make_dataset(8)),
        tmp_path / "run",
    )
    with pytest.raises(CheckpointError, match=r"trainer_state\.pt: missing.*cannot resume"):
        trainer.fit(resume_from=tmp_path / "weights")


def test_metadata_holds_config_caller_metadata_and_version(tmp_path: Path) -> None:
    caller = {"tokenizer": {"name": "chars", "vocab": ["a", "b"]}, "encoder": "conformer"}
    result = Trainer(
        toy.config(max_steps=5, eval_every_steps=5),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(toy.make_dataset(8)),
        tmp_path,
        metadata=caller,
    ).fit()
    metadata = json.loads((result.last_checkpoint / "metadata.json").read_text())
    assert metadata["metadata"] == caller
    assert metadata["config"]["max_steps"] == 5 and metadata["step"] == 5
    assert metadata["voxtext_version"]
    with pytest.raises(Exception, match="must be JSON data"):
        Trainer(
            toy.config(max_steps=5),
            toy.make_model(),
            toy.loss_fn,
            toy.make_batches(toy.make_dataset(8)),
            tmp_path,
            metadata={"x": object()},
        )
