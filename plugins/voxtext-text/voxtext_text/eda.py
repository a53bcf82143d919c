"""``eda``: Easy Data Augmentation text edits (Wei & Zou 2019, arXiv:1901.11196) for training
texts: synonym replacement, random insertion of a synonym, random swap, random deletion.

Pure Python (no torch): every random choice comes from the ``random.Random`` passed in, so
the same generator state gives the same edit. The synonym list is read once, when the
augmentation is built.

**Units.** ``unit="word"`` edits whitespace-separated words; the whitespace between them is
kept as it was (never edited, only removed together with a deleted word). ``unit="char"``
edits characters, except that the synonym list's entries found in the text are single units
(forward maximum matching, longest entry first), so a multi-character Chinese word such as
``喜欢`` is replaced, swapped or deleted whole; whitespace characters are never edited.
``unit="auto"`` uses characters for a text containing CJK ideographs, kana or CJK
punctuation and words otherwise (Korean, written with spaces, counts as words).

**Synonym list** (UTF-8, the file given as ``synonyms``): one group per line, words separated
by whitespace or commas (``,``, ``，`` or ``、``); every word of a line is a synonym of the
others. Lines starting with ``#`` and blank lines are skipped. A word on several lines gets
the words of all its lines as synonyms, *without* chaining groups (a polysemous word such as
``bank`` may sit in a ``bank shore`` and a ``bank lender`` line without making ``shore`` a
synonym of ``lender``). In word mode the lookup ignores case and leading/trailing
punctuation (``Good,`` finds ``good`` and becomes ``great,``); in char mode entries match
exactly, as substrings of the text.

**What one call does.** With probability ``p`` the text is edited; otherwise it is returned
unchanged. An edited text gets *one* operation, drawn uniformly from those enabled (weight
> 0) that can apply to it — as in the paper, where each augmented sentence comes from one
technique — applied ``n = max(1, round(weight * units))`` times. Synonym replacement and
insertion need a synonym list: without one only swap and deletion run. Deletion always leaves
at least one unit, so a text is never emptied; a text with no unit to edit comes back as is.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voxtext.data.scripts import is_unspaced
from voxtext.errors import ConfigError, DataError

UNITS = ("auto", "word", "char")
OPERATIONS = ("synonym_replace", "random_insert", "random_swap", "random_delete")

_SEPARATORS = re.compile(r"[\s,，、]+")
_WORD_AND_SPACE = re.compile(r"(\s+)")
_AFFIXES = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)

#: A piece of a text: its characters and whether edits may touch it (whitespace may not).
Piece = tuple[str, bool]
#: Synonyms of a unit found in the list: (prefix kept, synonyms, suffix kept), or None.
Match = tuple[str, tuple[str, ...], str] | None


def contains_cjk(text: str) -> bool:
    return any(is_unspaced(c) for c in text)


@dataclass(frozen=True)
class EDAConfig:
    """Settings of :class:`EDA` (see the module docstring for the details).

    ``synonyms``: path of a UTF-8 synonym list, or None (then only swap and deletion run).
    ``p``: probability that a text is edited at all. ``synonym_replace``, ``random_insert``,
    ``random_swap``, ``random_delete``: the paper's alpha per operation, the share of units
    edited (at least one); 0 disables the operation. ``unit``: ``"auto"``, ``"word"`` or
    ``"char"``.
    """

    synonyms: str | None = None
    p: float = 0.5
    synonym_replace: float = 0.1
    random_insert: float = 0.1
    random_swap: float = 0.1
    random_delete: float = 0.1
    unit: Literal["auto", "word", "char"] = "auto"

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ConfigError(f"eda.p must be a probability in [0, 1], got {self.p}")
        for name in OPERATIONS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(
                    f"eda.{name} must be in [0, 1] (share of units edited, 0 disables it), "
                    f"got {getattr(self, name)}"
                )
        if self.unit not in UNITS:
            raise ConfigError(f"eda.unit={self.unit!r} is unknown; choose one of {UNITS}")
        if self.synonyms is not None and not str(self.synonyms).strip():
            raise ConfigError("eda.synonyms is empty; give a synonym list's path or leave it out")
        if not any(getattr(self, name) > 0 for name in OPERATIONS):
            raise ConfigError(
                f"eda: all of {', '.join(OPERATIONS)} are 0, so no text would ever change; "
                f"set at least one above 0 or drop the augmentation"
            )
        if self.synonyms is None and self.random_swap == 0 and self.random_delete == 0:
            raise ConfigError(
                "eda: only synonym_replace and random_insert are enabled, and both need a "
                "synonym list; set eda.synonyms to its path or enable random_swap/random_delete"
            )


def read_synonym_groups(path: Path) -> list[tuple[str, ...]]:
    """The groups of a synonym list; every bad line is reported at once as a DataError."""
    if not path.is_file():
        raise ConfigError(
            f"eda.synonyms: no synonym list at {path} (resolved: {path.resolve()}); give the "
            f"path of a UTF-8 text file with one group of synonyms per line"
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}:{line}: the synonym list is not UTF-8 ({exc.reason} at byte {exc.start}); "
            f"save it as UTF-8"
        ) from None
    groups: list[tuple[str, ...]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        words = tuple(dict.fromkeys(w for w in _SEPARATORS.split(stripped) if w))
        if len(words) < 2:
            problems.append(
                f"{path}:{number}: {stripped!r} names a single word; a line lists at least two "
                f"synonyms separated by spaces or commas (comment it out with '#' to skip it)"
            )
            continue
        groups.append(words)
    if problems:
        raise DataError(f"{path}: {len(problems)} bad line(s) in the synonym list:", problems)
    if not groups:
        raise DataError(
            f"{path}: the synonym list has no groups (only blank or '#' lines); add lines of "
            f"synonyms, or leave eda.synonyms unset to use only swap and deletion"
        )
    return groups


def synonym_table(
    groups: list[tuple[str, ...]], key: Callable[[str], str]
) -> dict[str, tuple[str, ...]]:
    """``key(word)`` -> the other words of every group holding it, in file order."""
    table: dict[str, dict[str, None]] = {}
    for group in groups:
        for word in group:
            others = table.setdefault(key(word), {})
            others.update((w, None) for w in group if key(w) != key(word))
    return {k: tuple(v) for k, v in table.items() if v}


def split_words(text: str) -> list[Piece]:
    return [(part, not part.isspace()) for part in _WORD_AND_SPACE.split(text) if part]


def split_chars(text: str, vocabulary: frozenset[str], longest: int) -> list[Piece]:
    """Characters, with the longest vocabulary entry starting at each position kept whole."""
    pieces: list[Piece] = []
    start = 0
    while start < len(text):
        if text[start].isspace():
            pieces.append((text[start], False))
            start += 1
            continue
        size = 1
        for candidate in range(min(longest, len(text) - start), 1, -1):
            if text[start : start + candidate] in vocabulary:
                size = candidate
                break
        pieces.append((text[start : start + size], True))
        start += size
    return pieces


def editable(pieces: list[Piece]) -> list[int]:
    return [i for i, (_, can_edit) in enumerate(pieces) if can_edit]


def random_swap(pieces: list[Piece], n: int, rng: random.Random) -> list[Piece]:
    """Swap two distinct units, ``n`` times."""
    pieces = list(pieces)
    units = editable(pieces)
    for _ in range(n):
        i, j = rng.sample(units, 2)
        pieces[i], pieces[j] = pieces[j], pieces[i]
    return pieces


def random_delete(pieces: list[Piece], n: int, rng: random.Random, word_mode: bool) -> list[Piece]:
    """Delete ``n`` units (at most all but one). In word mode a deleted word takes one
    neighbouring separator with it: the one before it, else the one after."""
    units = editable(pieces)
    doomed = set(rng.sample(units, min(n, len(units) - 1)))
    kept: list[Piece] = []
    drop_next_space = False
    for index, piece in enumerate(pieces):
        if index in doomed:
            if not word_mode:
                continue
            if kept and not kept[-1][1] and any(can_edit for _, can_edit in kept):
                kept.pop()
            else:
                drop_next_space = True
            continue
        if drop_next_space and not piece[1]:
            drop_next_space = False
            continue
        drop_next_space = False
        kept.append(piece)
    return kept


def synonym_replace(
    pieces: list[Piece], n: int, rng: random.Random, match: Callable[[str], Match]
) -> list[Piece]:
    """Replace ``n`` distinct units that have synonyms, each by one of them."""
    pieces = list(pieces)
    candidates = [i for i in editable(pieces) if match(pieces[i][0])]
    rng.shuffle(candidates)
    for index in candidates[:n]:
        found = match(pieces[index][0])
        assert found is not None  # candidates were filtered on it
        prefix, options, suffix = found
        pieces[index] = (prefix + rng.choice(options) + suffix, True)
    return pieces


def random_insert(
    pieces: list[Piece], n: int, rng: random.Random, match: Callable[[str], Match], word_mode: bool
) -> list[Piece]:
    """``n`` times: take a unit with synonyms, insert one of its synonyms at a random unit
    boundary (in word mode with a space beside it)."""
    pieces = list(pieces)
    for _ in range(n):
        units = editable(pieces)
        candidates = [pieces[i][0] for i in units if match(pieces[i][0])]
        if not candidates:
            break
        found = match(rng.choice(candidates))
        assert found is not None
        synonym = rng.choice(found[1])
        slot = rng.randrange(len(units) + 1)
        if slot < len(units):
            inserted = [(synonym, True), (" ", False)] if word_mode else [(synonym, True)]
            pieces[units[slot] : units[slot]] = inserted
        else:
            inserted = [(" ", False), (synonym, True)] if word_mode else [(synonym, True)]
            pieces[units[-1] + 1 : units[-1] + 1] = inserted
    return pieces


class EDA:
    """``__call__(text, rng) -> text``: one seeded EDA edit (``domain == "text"``).

    Built from :class:`EDAConfig`; reads the synonym list once, here. Raises ConfigError for
    a missing synonym file and DataError naming ``file:line`` for malformed lines.
    """

    domain = "text"

    def __init__(self, config: EDAConfig | None = None) -> None:
        self.config = config or EDAConfig()
        groups = read_synonym_groups(Path(self.config.synonyms)) if self.config.synonyms else []
        self._exact = synonym_table(groups, key=str)
        self._folded = synonym_table(groups, key=str.lower)
        self._vocabulary = frozenset(self._exact)
        self._longest = max((len(w) for w in self._vocabulary), default=1)

    def __call__(self, text: str, rng: random.Random) -> str:
        if not isinstance(rng, random.Random):
            raise TypeError(f"eda needs a random.Random, got {type(rng).__name__}")
        config = self.config
        if config.p < 1.0 and rng.random() >= config.p:
            return text
        word_mode = self._word_mode(text)
        if word_mode:
            pieces, match = split_words(text), self._match_word
        else:
            pieces = split_chars(text, self._vocabulary, self._longest)
            match = self._match_char
        units = len(editable(pieces))
        operations = self._applicable(pieces, units, match)
        if not operations:
            return text
        name = rng.choice(operations)
        n = max(1, round(getattr(config, name) * units))
        if name == "random_swap":
            pieces = random_swap(pieces, n, rng)
        elif name == "random_delete":
            pieces = random_delete(pieces, n, rng, word_mode)
        elif name == "synonym_replace":
            pieces = synonym_replace(pieces, n, rng, match)
        else:
            pieces = random_insert(pieces, n, rng, match, word_mode)
        return "".join(part for part, _ in pieces)

    def _word_mode(self, text: str) -> bool:
        if self.config.unit == "auto":
            return not contains_cjk(text)
        return self.config.unit == "word"

    def _applicable(
        self, pieces: list[Piece], units: int, match: Callable[[str], Match]
    ) -> list[str]:
        """Enabled operations that can change this text, in a fixed order (for determinism)."""
        has_synonyms = any(match(pieces[i][0]) for i in editable(pieces))
        can = {
            "synonym_replace": has_synonyms,
            "random_insert": has_synonyms,
            "random_swap": units >= 2,
            "random_delete": units >= 2,
        }
        return [name for name in OPERATIONS if getattr(self.config, name) > 0 and can[name]]

    def _match_char(self, unit: str) -> Match:
        options = self._exact.get(unit)
        return ("", options, "") if options else None

    def _match_word(self, unit: str) -> Match:
        """Whole unit first (entries may hold punctuation), then without leading/trailing
        punctuation, which the replacement keeps; case is ignored."""
        options = self._folded.get(unit.lower())
        if options:
            return "", options, ""
        affixes = _AFFIXES.match(unit)
        assert affixes is not None  # the pattern matches every string
        prefix, core, suffix = affixes.groups()
        options = self._folded.get(core.lower()) if core else None
        return (prefix, options, suffix) if options else None
