"""bf16 on CPU: the ASR smoke task (tiny Conformer-CTC on the tone corpus) reaches fp32's
accuracy in bf16, which is what lets ``precision = "auto"`` choose bf16 for the ASR task on
CPUs with native bf16 (``voxtext.train.precision``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from voxtext import cli
from voxtext.testing import write_tone_corpus
from voxtext.train.precision import cpu_has_native_bf16, resolve_precision


def end_to_end_config() -> str:
    """The smoke task's config, from the end-to-end test (pytest's importlib mode lets test
    modules import no sibling module by name)."""
    path = Path(__file__).with_name("test_asr_end_to_end.py")
    spec = importlib.util.spec_from_file_location("asr_end_to_end_config", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.CONFIG)


def final_dev_cer(root: Path, manifest: Path, precision: str) -> float:
    config = root / f"{precision}.toml"
    config.write_text(end_to_end_config().format(out=root / precision, train=manifest))
    args = ["train", str(config), "--set", "trainer.seed=3"]
    args += ["--set", f'trainer.precision="{precision}"']
    assert cli.main(args) == 0
    history = [json.loads(line) for line in (root / precision / "metrics.jsonl").open()]
    return float([h["dev_cer"] for h in history if "dev_cer" in h][-1])


@pytest.mark.slow
def test_bf16_training_reaches_the_fp32_error_rate(tmp_path: Path) -> None:
    manifest = write_tone_corpus(tmp_path / "data", n=48)
    fp32 = final_dev_cer(tmp_path, manifest, "fp32")
    bf16 = final_dev_cer(tmp_path, manifest, "bf16")
    assert fp32 < 0.15 and bf16 < 0.15  # both learnt the task
    assert abs(bf16 - fp32) <= 0.05


def test_auto_picks_bf16_on_cpu_only_with_native_bf16_and_the_tasks_consent() -> None:
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu).name == "fp32"
    native = cpu_has_native_bf16()
    plan = resolve_precision("auto", cpu, cpu_bf16=True)
    assert plan.name == ("bf16" if native else "fp32")
    # auto's bf16 on a CPU evaluates in float32, as inference does; an explicit bf16 does not
    assert plan.evaluate_in_training_precision is not native
    assert resolve_precision("bf16", cpu).evaluate_in_training_precision
    assert resolve_precision("fp32", cpu, cpu_bf16=True).name == "fp32"
    a = torch.randn(4, 4)
    with resolve_precision("bf16", cpu).evaluation_autocast():
        assert (a @ a).dtype == torch.bfloat16
    with resolve_precision("bf16", cpu, cpu_bf16=True).evaluation_autocast():
        assert (a @ a).dtype == torch.bfloat16  # not auto: evaluation keeps the training dtype
