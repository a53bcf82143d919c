"""The dialects the espeak-dialects corpus speaks, and the voice variants its speakers use.

A dialect is an espeak-ng voice plus the script the sentence is fed to it in. The transcript
is always the sentence itself (English words, or Chinese characters for both Mandarin and
Cantonese), so one model must map every dialect of a language to the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Script = Literal["english", "pinyin", "hanzi"]


@dataclass(frozen=True)
class Dialect:
    """``name`` is the ``groups.dialect`` value; ``language`` the ``groups.language`` value."""

    name: str
    language: str
    voice: str
    script: Script


ENGLISH_ACCENTS = (
    Dialect("en-us", "en", "en-us", "english"),
    Dialect("en-gb", "en", "en-gb", "english"),
    Dialect("en-gb-scotland", "en", "en-gb-scotland", "english"),
    Dialect("en-gb-x-rp", "en", "en-gb-x-rp", "english"),
    Dialect("en-gb-x-gbclan", "en", "en-gb-x-gbclan", "english"),
    Dialect("en-gb-x-gbcwmd", "en", "en-gb-x-gbcwmd", "english"),
    Dialect("en-029", "en", "en-029", "english"),
    Dialect("en-us-nyc", "en", "en-us-nyc", "english"),
)

# Plain `cmn` reads tone digits as English numbers (espeak-ng 1.51), so Mandarin is fed
# pinyin with tone numbers through the pinyin voice; Cantonese reads the characters directly.
CHINESE = (
    Dialect("cmn", "zh", "cmn-latn-pinyin", "pinyin"),
    Dialect("yue", "zh", "yue", "hanzi"),
)

LANGUAGE_SETS: dict[str, tuple[Dialect, ...]] = {
    "english-accents": ENGLISH_ACCENTS,
    "chinese": CHINESE,
    "all": ENGLISH_ACCENTS + CHINESE,
}

# espeak-ng's voice variants (`espeak-ng --voices=variant`: male1…male8, female1…female5 and
# named ones). Each split draws its speakers from its own variants, so a test speaker has a
# timbre no training speaker has: speakers are held out by voice, not only by id. The test
# split has ten variants, so ten test speakers per dialect differ in timbre as well as in
# pitch and speed (speaker-level intervals and tests need that many independent voices).
VARIANTS_BY_SPLIT: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {"m": ("m1", "m2", "m4", "m5", "m7", "m8"), "f": ("f1", "f2", "f5")},
    "dev": {"m": ("m6",), "f": ("f4",)},
    "test": {
        "m": ("m3", "adam", "david", "john", "paul"),
        "f": ("f3", "linda", "belinda", "anika", "steph"),
    },
}

ALL_VARIANTS = tuple(
    variant
    for by_gender in VARIANTS_BY_SPLIT.values()
    for variants in by_gender.values()
    for variant in variants
)


def select_dialects(language_set: str, names: tuple[str, ...]) -> tuple[Dialect, ...]:
    """The dialects of ``language_set``, or those of them named in ``names`` (in set order)."""
    available = LANGUAGE_SETS[language_set]
    if not names:
        return available
    known = {dialect.name for dialect in available}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"dialects {unknown} are not in the language set '{language_set}'; "
            f"choose from {sorted(known)} or change 'languages'"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"dialects {list(names)} names a dialect twice")
    return tuple(dialect for dialect in available if dialect.name in names)
