"""Shallow fusion of an ARPA n-gram model into the beam search, vectorised over beams.

``score = acoustic + alpha * ln P_lm + beta * (LM units emitted)``. A word LM scores a word
when it is complete: when a boundary token (``▁``) or a word-initial piece (``▁xyz``) follows
it, and at the end of the utterance (then ``</s>`` too). A character ("char") LM scores every
token as an LM word (its symbol text: characters for the char tokenizer, pieces for
SentencePiece).

The word being spelt is tracked as a 64-bit polynomial hash of its characters, which
composes over pieces (``H(a + b) = H(a) * P**len(b) + H(b)``), so ``"▁hel" + "lo"`` and
``"▁he" + "llo"`` reach the same LM word without any string building in the search loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxtext_ctc.arpa import EOS, ArpaModel

HASH_BASE = np.uint64(1099511628211)  # FNV-1 64-bit prime; any large odd number works
_CONTINUES, _BOUNDARY, _STARTS_WORD = 0, 1, 2


def text_hash(text: str) -> tuple[int, int]:
    """``(H(text), P ** len(text))`` modulo 2**64, ``H("") == 0``."""
    value, power, base, mask = 0, 1, int(HASH_BASE), (1 << 64) - 1
    for char in text:
        value = (value * base + ord(char) + 1) & mask
        power = (power * base) & mask
    return value, power


class WordLMFusion:
    """Word-level LM fusion; state per beam: (LM context id, hash of the word being spelt)."""

    def __init__(
        self, lm: ArpaModel, symbols: Sequence[str], boundary: str, alpha: float, beta: float
    ) -> None:
        self.lm, self.alpha, self.beta = lm, alpha, beta
        kinds, hashes, powers = [], [], []
        for symbol in symbols:
            content = symbol
            if symbol.strip(boundary) == "":
                kinds.append(_BOUNDARY)
            elif symbol.startswith(boundary):
                kinds.append(_STARTS_WORD)
            else:
                kinds.append(_CONTINUES)
            content = symbol.strip(boundary)
            value, power = text_hash(content)
            hashes.append(value)
            powers.append(power)
        self.kind = np.asarray(kinds, dtype=np.int8)
        self.token_hash = np.asarray(hashes, dtype=np.uint64)
        self.token_power = np.asarray(powers, dtype=np.uint64)
        word_hashes = np.asarray([text_hash(w)[0] for w in lm.words], dtype=np.uint64)
        order = np.argsort(word_hashes)
        self.word_hashes = word_hashes[order]
        self.word_ids = np.asarray(list(lm.words.values()), dtype=np.int64)[order]
        self.unk = lm.word_id("<unk>")
        self.eos = lm.words.get(EOS)

    def start(self, batch: int, beams: int) -> tuple[np.ndarray, ...]:
        return (
            np.full((batch, beams), self.lm.start_state(), dtype=np.int64),
            np.zeros((batch, beams), dtype=np.uint64),
        )

    def extend(
        self, state: tuple[np.ndarray, ...], tokens: np.ndarray
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        lm_state, word = state
        kind = self.kind[tokens][:, None, :]
        word3 = word[:, :, None]
        spelt = word3 * self.token_power[tokens][:, None, :] + self.token_hash[tokens][:, None, :]
        new_word = np.where(
            kind == _CONTINUES,
            spelt,
            np.where(kind == _BOUNDARY, np.uint64(0), self.token_hash[tokens][:, None, :]),
        )
        shape = new_word.shape
        bonus = np.zeros(shape)
        new_state = np.broadcast_to(lm_state[:, :, None], shape).copy()
        ends = (kind != _CONTINUES) & (word3 != 0)
        if ends.any():
            b, k, c = np.nonzero(ends)
            logp, after = self.lm.score(lm_state[b, k], self._lm_words(word[b, k]))
            bonus[b, k, c] = self.alpha * logp + self.beta
            new_state[b, k, c] = after
        return bonus, (new_state, new_word)

    def finish(self, state: tuple[np.ndarray, ...]) -> np.ndarray:
        lm_state, word = state
        bonus = np.zeros(lm_state.shape)
        spelling = word != 0
        context = lm_state.copy()
        if spelling.any():
            logp, context[spelling] = self.lm.score(
                lm_state[spelling], self._lm_words(word[spelling])
            )
            bonus[spelling] = self.alpha * logp + self.beta
        if self.eos is not None:
            logp, _ = self.lm.score(context, np.full(context.shape, self.eos))
            bonus += self.alpha * logp
        return bonus

    def _lm_words(self, hashes: np.ndarray) -> np.ndarray:
        where = np.minimum(np.searchsorted(self.word_hashes, hashes), len(self.word_hashes) - 1)
        return np.where(self.word_hashes[where] == hashes, self.word_ids[where], self.unk)


class TokenLMFusion:
    """Character/token-level LM fusion: every emitted token is one LM word."""

    def __init__(
        self,
        lm: ArpaModel,
        symbols: Sequence[str],
        boundary: str,
        boundary_word: str,
        alpha: float,
        beta: float,
    ) -> None:
        self.lm, self.alpha, self.beta = lm, alpha, beta
        self.lm_word = np.asarray(
            [lm.word_id(boundary_word if s == boundary else s) for s in symbols], dtype=np.int64
        )
        self.eos = lm.words.get(EOS)

    def start(self, batch: int, beams: int) -> tuple[np.ndarray, ...]:
        return (np.full((batch, beams), self.lm.start_state(), dtype=np.int64),)

    def extend(
        self, state: tuple[np.ndarray, ...], tokens: np.ndarray
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        (lm_state,) = state
        shape = (*lm_state.shape, tokens.shape[1])
        contexts = np.broadcast_to(lm_state[:, :, None], shape)
        words = np.broadcast_to(self.lm_word[tokens][:, None, :], shape)
        logp, after = self.lm.score(contexts, words)
        return self.alpha * logp + self.beta, (after,)

    def finish(self, state: tuple[np.ndarray, ...]) -> np.ndarray:
        (lm_state,) = state
        if self.eos is None:
            return np.zeros(lm_state.shape)
        logp, _ = self.lm.score(lm_state, np.full(lm_state.shape, self.eos))
        return self.alpha * logp
