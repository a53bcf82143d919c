"""The plan of a synthetic corpus: who says which sentence in which split. No audio here.

Held out by construction:
- speakers: each split draws its voices from its own espeak-ng variants (``dialects.py``), so
  no dev or test speaker (nor voice timbre) is ever in train;
- sentences: each language's sentences are shuffled once and cut into disjoint test, dev and
  train pools, so no test or dev sentence is ever spoken in train.
Dev and test are balanced per dialect, and every dialect of a language reads the same dev and
test sentences, so per-dialect error rates compare like with like. Train may be imbalanced:
the majority dialect gets ``imbalance`` of the train utterances and more speakers, as a
majority dialect does in real data. Everything is drawn from ``random.Random`` seeded with
strings built from the seed, so the plan depends on the seed and the sizes alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voxtext_corpora.dialects import VARIANTS_BY_SPLIT, Dialect

SPLITS = ("train", "dev", "test")
# espeak-ng's defaults are pitch 50 (0–99) and 175 words a minute; speakers vary around them.
PITCH_RANGE = (25, 75)
SPEED_RANGE = (140, 190)


@dataclass(frozen=True)
class Sizes:
    """How big the corpus is. Speaker and utterance counts are per dialect except
    ``train_utterances`` (all dialects together); sentence pools are per language."""

    train_utterances: int
    train_utterances_per_speaker: int
    dev_speakers: int
    dev_utterances_per_speaker: int
    test_speakers: int
    test_utterances_per_speaker: int
    sentence_pools: Mapping[str, Mapping[str, int]]  # language -> split -> sentences


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: a dialect's voice with a variant, pitch and speed of its own."""

    id: str
    dialect: Dialect
    split: str
    variant: str
    gender: str
    pitch: int
    speed: int


@dataclass(frozen=True)
class Sentence:
    """A sentence and its stable id (language and index in the source list)."""

    id: str
    text: str


@dataclass(frozen=True)
class PlannedUtterance:
    """``speaker`` says ``sentence``; the audio goes to ``audio`` under the corpus folder."""

    id: str
    split: str
    speaker: Speaker
    sentence: Sentence

    @property
    def audio(self) -> str:
        return f"audio/{self.speaker.dialect.name}/{self.speaker.id}/{self.id}.wav"


def split_sentences(
    language: str, sentences: Sequence[str], pools: Mapping[str, int], seed: int
) -> dict[str, list[Sentence]]:
    """Disjoint test, dev and train pools of ``language``'s sentences, drawn with ``seed``."""
    wanted = sum(pools[split] for split in SPLITS)
    if wanted > len(sentences):
        raise ValueError(
            f"the {language} sentence pools ask for {wanted} sentences "
            f"({', '.join(f'{split} {pools[split]}' for split in SPLITS)}) but the source has "
            f"{len(sentences)} — lower train_sentences/dev_sentences/test_sentences"
        )
    indices = list(range(len(sentences)))
    random.Random(f"{seed}:sentences:{language}").shuffle(indices)
    result: dict[str, list[Sentence]] = {}
    start = 0
    for split in ("test", "dev", "train"):  # test first: its pool never moves with train's size
        chosen = indices[start : start + pools[split]]
        result[split] = [Sentence(f"{language}{index:05d}", sentences[index]) for index in chosen]
        start += pools[split]
    return result


def train_counts(
    dialects: Sequence[Dialect], total: int, imbalance: float | None, majority: str
) -> dict[str, int]:
    """Train utterances per dialect: even, or ``imbalance`` of ``total`` for ``majority`` and
    the rest split evenly among the others (remainders go to the first dialects)."""
    names = [dialect.name for dialect in dialects]
    if imbalance is None:
        return dict(zip(names, _even_shares(total, len(names)), strict=True))
    others = [name for name in names if name != majority]
    majority_count = round(imbalance * total)
    counts = dict(zip(others, _even_shares(total - majority_count, len(others)), strict=True))
    if min(counts.values(), default=1) < 1:
        raise ValueError(
            f"imbalance {imbalance} leaves fewer than one train utterance for some of "
            f"{others} out of {total} — lower imbalance or raise train_utterances"
        )
    counts[majority] = majority_count
    return {name: counts[name] for name in names}


def _even_shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def plan_speakers(
    dialect: Dialect, dialect_index: int, split: str, count: int, seed: int
) -> list[Speaker]:
    """``count`` speakers of ``dialect`` for ``split``, alternating male and female variants."""
    speakers: list[Speaker] = []
    taken: set[str] = set()
    draw = random.Random(f"{seed}:speakers:{dialect.name}:{split}")
    variants = VARIANTS_BY_SPLIT[split]
    for number in range(count):
        gender = "m" if number % 2 == 0 else "f"
        # Dialects start at different variants, so they do not all share the same few voices.
        options = variants[gender]
        variant = options[(number // 2 + dialect_index) % len(options)]
        while True:  # a repeated (variant, pitch, speed) would be the same speaker twice
            pitch, speed = draw.randint(*PITCH_RANGE), draw.randint(*SPEED_RANGE)
            speaker_id = f"{dialect.name}-{variant}-p{pitch}-s{speed}"
            if speaker_id not in taken:
                break
        taken.add(speaker_id)
        speakers.append(Speaker(speaker_id, dialect, split, variant, gender, pitch, speed))
    return speakers


def assign_sentences(
    speakers: Sequence[Speaker], counts: Sequence[int], order: Sequence[Sentence]
) -> list[PlannedUtterance]:
    """Speaker k reads the next ``counts[k]`` sentences of ``order``, wrapping around: the
    pool is covered evenly and no speaker reads a sentence twice."""
    utterances = []
    start = 0
    for speaker, count in zip(speakers, counts, strict=True):
        if count > len(order):
            raise ValueError(
                f"a {speaker.split} speaker would read {count} sentences but the "
                f"{speaker.split} pool of {speaker.dialect.language} has {len(order)} — "
                f"raise {speaker.split}_sentences or lower the utterances per speaker"
            )
        for offset in range(count):
            sentence = order[(start + offset) % len(order)]
            utterance_id = f"{speaker.id}-{sentence.id}"
            utterances.append(PlannedUtterance(utterance_id, speaker.split, speaker, sentence))
        start += count
    return utterances


def plan_corpus(
    dialects: Sequence[Dialect],
    sentences: Mapping[str, Sequence[str]],
    sizes: Sizes,
    seed: int,
    imbalance: float | None,
    majority: str,
) -> list[PlannedUtterance]:
    """Every utterance of the corpus, train then dev then test, dialect by dialect."""
    pools = {
        language: split_sentences(
            language, sentences[language], sizes.sentence_pools[language], seed
        )
        for language in sorted({dialect.language for dialect in dialects})
    }
    per_dialect_train = train_counts(dialects, sizes.train_utterances, imbalance, majority)
    held_out = {
        "dev": (sizes.dev_speakers, sizes.dev_utterances_per_speaker),
        "test": (sizes.test_speakers, sizes.test_utterances_per_speaker),
    }
    planned: list[PlannedUtterance] = []
    for split in SPLITS:
        for index, dialect in enumerate(dialects):
            pool = pools[dialect.language][split]
            if split == "train":
                total = per_dialect_train[dialect.name]
                speaker_count = math.ceil(total / sizes.train_utterances_per_speaker)
                counts = _even_shares(total, speaker_count)
                # Each dialect reads the train pool in its own order; held-out pools are read in
                # one order per language, so all dialects say the same dev and test sentences.
                order_key = f"{seed}:order:{dialect.name}:train"
            else:
                speaker_count, per_speaker = held_out[split]
                counts = [per_speaker] * speaker_count
                order_key = f"{seed}:order:{dialect.language}:{split}"
            order = list(pool)
            random.Random(order_key).shuffle(order)
            speakers = plan_speakers(dialect, index, split, speaker_count, seed)
            planned.extend(assign_sentences(speakers, counts, order))
    return planned
