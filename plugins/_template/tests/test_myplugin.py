"""Run with `pytest` after `pip install -e .`: the plugin is found through its entry point."""

import torch

import voxtext


def test_peak_normalise_is_registered_and_works():
    augment = voxtext.registry("augmentations").create("peak-normalise", peak=0.5)
    x = torch.tensor([[0.1, -0.2, 0.0], [1.0, 0.5, 0.25]])
    y, _lengths = augment(x, torch.tensor([3, 3]), torch.Generator().manual_seed(0))
    assert torch.allclose(y.abs().amax(dim=1), torch.tensor([0.5, 0.5]))


def test_letter_count_task_is_registered_and_reads_its_config(tmp_path):
    task = voxtext.registry("tasks").create("letter-count")
    values = {"out_dir": str(tmp_path), "train": "train.jsonl", "trainer": {"max_steps": 5}}
    config = task.load_config(values, where="test")
    assert (config.task, config.trainer.max_steps) == ("letter-count", 5)
