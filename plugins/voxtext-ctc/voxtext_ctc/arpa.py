"""An ARPA n-gram language model: a reader and a vectorised backoff scorer.

Every n-gram gets an integer id (unigrams first, so a unigram's id is its word id). A search
state is the id of the n-gram that is the current context (``-1`` for the empty context).
``score(states, words)`` looks each (context, word) pair up with ``numpy.searchsorted`` over
sorted ``context_id * vocab + word`` keys and backs off through shorter contexts (adding the
backoff weights) until it finds one — the ARPA definition, for whole arrays of beams at once.
Probabilities are returned in natural log (ARPA files store log10).

The reader keeps every n-gram in Python dictionaries while building the arrays: meant for
the few-million-n-gram models a CTC decoder fuses, not web-scale ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxtext.errors import DataError

LN10 = math.log(10.0)
# KenLM substitutes this log10 probability when an ARPA file has no <unk>.
MISSING_UNK_LOG10 = -100.0
BOS, EOS, UNK = "<s>", "</s>", "<unk>"
Entry = tuple[float, tuple[str, ...], float, int]  # log10 p, words, log10 backoff, line


@dataclass(frozen=True)
class ArpaModel:
    """Arrays of an ARPA model (see the module doc); build with ``read_arpa``."""

    order: int
    words: dict[str, int]
    logp: np.ndarray  # (n_grams,) natural log probability
    backoff: np.ndarray  # (n_grams,) natural log backoff weight (0 where absent)
    context_suffix: np.ndarray  # (n_grams,) id of the n-gram without its first word, -1 if none
    state_after: np.ndarray  # (n_grams,) the context state after predicting this n-gram
    keys: np.ndarray  # sorted context_id * vocab + word, for orders >= 2
    key_ids: np.ndarray  # the n-gram id of each key

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def word_id(self, word: str) -> int:
        return self.words.get(word, self.words[UNK])

    def start_state(self) -> int:
        """The context at the start of a sentence: ``<s>`` if the model has it."""
        bos = self.words.get(BOS)
        return -1 if bos is None or self.order == 1 else bos

    def score(self, states: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Natural-log ``P(word | state)`` and the next state, elementwise over equal shapes."""
        shape = np.shape(states)
        states = np.asarray(states, dtype=np.int64).ravel()
        words = np.asarray(words, dtype=np.int64).ravel()
        logp = np.zeros(states.shape, dtype=np.float64)
        next_states = np.full(states.shape, -1, dtype=np.int64)
        context = states.copy()
        pending = np.ones(states.shape, dtype=bool)
        for _ in range(self.order - 1):
            looking = pending & (context >= 0)
            if not looking.any():
                break
            rows = np.nonzero(looking)[0]
            keys = context[rows] * self.vocab_size + words[rows]
            where = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            found = self.keys[where] == keys if len(self.keys) else np.zeros(len(rows), bool)
            hit_rows, hit_ids = rows[found], self.key_ids[where[found]]
            logp[hit_rows] += self.logp[hit_ids]
            next_states[hit_rows] = self.state_after[hit_ids]
            pending[hit_rows] = False
            miss_rows = rows[~found]
            logp[miss_rows] += self.backoff[context[miss_rows]]
            context[miss_rows] = self.context_suffix[context[miss_rows]]
        logp[pending] += self.logp[words[pending]]
        next_states[pending] = self.state_after[words[pending]]
        return logp.reshape(shape), next_states.reshape(shape)


def read_arpa(path: str | Path) -> ArpaModel:
    """Parse an ARPA file; every format problem names the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"ARPA language model {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"ARPA language model {path} is not UTF-8 text ({exc})") from None
    counts, line_no = _read_header(lines, path)
    sections: list[list[Entry]] = []
    for order in range(1, len(counts) + 1):
        entries, line_no = _read_section(lines, line_no, order, counts[order - 1], path)
        sections.append(entries)
    while line_no < len(lines) and not lines[line_no].strip():
        line_no += 1
    if line_no >= len(lines) or lines[line_no].strip() != "\\end\\":
        raise DataError(f"{path}:{line_no + 1}: expected \\end\\ after the {len(counts)}-grams")
    return _build(sections, path)


def _read_header(lines: list[str], path: Path) -> tuple[list[int], int]:
    line_no = 0
    while line_no < len(lines) and lines[line_no].strip() != "\\data\\":
        line_no += 1
    if line_no == len(lines):
        raise DataError(f"{path}: no \\data\\ line; is this an ARPA language model?")
    counts: list[int] = []
    line_no += 1
    while line_no < len(lines) and lines[line_no].strip().startswith("ngram "):
        name, _, value = lines[line_no].strip()[6:].partition("=")
        if not (
            name.strip().isdigit() and value.strip().isdigit() and int(name) == len(counts) + 1
        ):
            raise DataError(
                f"{path}:{line_no + 1}: expected 'ngram {len(counts) + 1}=<count>', "
                f"got {lines[line_no].strip()!r}"
            )
        counts.append(int(value))
        line_no += 1
    if not counts:
        raise DataError(f"{path}:{line_no + 1}: \\data\\ lists no 'ngram N=<count>' lines")
    return counts, line_no


def _read_section(
    lines: list[str], line_no: int, order: int, count: int, path: Path
) -> tuple[list[Entry], int]:
    while line_no < len(lines) and not lines[line_no].strip():
        line_no += 1
    if line_no >= len(lines) or lines[line_no].strip() != f"\\{order}-grams:":
        raise DataError(f"{path}:{line_no + 1}: expected the section header \\{order}-grams:")
    line_no += 1
    entries = []
    while line_no < len(lines) and not lines[line_no].strip().startswith("\\"):
        parts = lines[line_no].split()
        if parts:
            if len(parts) not in (order + 1, order + 2):
                raise DataError(
                    f"{path}:{line_no + 1}: a {order}-gram line needs a log10 "
                    f"probability, {order} words and an optional backoff; got "
                    f"{lines[line_no].strip()!r}"
                )
            try:
                values = float(parts[0]), float(parts[order + 1]) if len(parts) > order + 1 else 0.0
            except ValueError:
                raise DataError(
                    f"{path}:{line_no + 1}: probability or backoff is not a number: "
                    f"{lines[line_no].strip()!r}"
                ) from None
            entries.append((values[0], tuple(parts[1 : order + 1]), values[1], line_no + 1))
        line_no += 1
    if len(entries) != count:
        raise DataError(
            f"{path}: the header promises {count} {order}-grams, the section has {len(entries)}"
        )
    return entries, line_no


def _build(sections: list[list[Entry]], path: Path) -> ArpaModel:
    words = {gram[0]: i for i, (_, gram, _, _) in enumerate(sections[0])}
    unigrams = list(sections[0])
    if UNK not in words:
        words[UNK] = len(words)
        unigrams.append((MISSING_UNK_LOG10, (UNK,), 0.0, 0))
    index, logp, backoff = _number_ngrams([unigrams, *sections[1:]], words, path)
    order = len(sections)
    suffix = np.full(len(logp), -1, dtype=np.int64)
    state_after = np.arange(len(logp), dtype=np.int64)
    keys, key_ids = [], []
    for ids, gid in index.items():
        if len(ids) > 1:
            context = index.get(ids[:-1])
            if context is None:
                raise DataError(
                    f"{path}: the {len(ids)}-gram {_words(ids, words)} has no "
                    f"{len(ids) - 1}-gram for its context; the model is malformed"
                )
            keys.append(context * len(words) + ids[-1])
            key_ids.append(gid)
            suffix[gid] = _longest_suffix(ids, index)
        if len(ids) == order:  # a full-order n-gram cannot be a context itself
            state_after[gid] = _longest_suffix(ids, index)
    sort = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
    return ArpaModel(
        order=order,
        words=words,
        logp=np.asarray(logp),
        backoff=np.asarray(backoff),
        context_suffix=suffix,
        state_after=state_after,
        keys=np.asarray(keys, dtype=np.int64)[sort],
        key_ids=np.asarray(key_ids, np.int64)[sort],
    )


def _number_ngrams(
    sections: list[list[Entry]], words: dict[str, int], path: Path
) -> tuple[dict[tuple[int, ...], int], list[float], list[float]]:
    """Ids for every n-gram (unigrams first, in file order) and its natural-log values."""
    index: dict[tuple[int, ...], int] = {}
    logp: list[float] = []
    backoff: list[float] = []
    for entries in sections:
        for log10p, gram, log10b, line in entries:
            try:
                ids = tuple(words[w] for w in gram)
            except KeyError as exc:
                raise DataError(
                    f"{path}:{line}: word {exc.args[0]!r} is not among the 1-grams"
                ) from None
            if ids in index:
                raise DataError(f"{path}:{line}: the n-gram {' '.join(gram)!r} is listed twice")
            index[ids] = len(logp)
            logp.append(log10p * LN10)
            backoff.append(log10b * LN10)
    return index, logp, backoff


def _longest_suffix(ids: tuple[int, ...], index: dict[tuple[int, ...], int]) -> int:
    for start in range(1, len(ids)):
        found = index.get(ids[start:])
        if found is not None:
            return found
    return -1


def _words(ids: tuple[int, ...], words: dict[str, int]) -> str:
    names = {i: w for w, i in words.items()}
    return " ".join(names[i] for i in ids)
