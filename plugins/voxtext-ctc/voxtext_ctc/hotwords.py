"""Hotword boosting: a bonus for hypotheses that spell given words or phrases.

The phrases form an Aho-Corasick automaton over characters (the word boundary ``▁`` read as
a space). A hypothesis in automaton node ``u`` (the longest phrase prefix its text ends with)
holds a provisional bonus ``potential[u] = bonus_per_char * depth(u)``: credit grows as a
prefix matches and is taken back when the match breaks, so near-misses are pulled toward the
phrase without rewarding text that merely starts like it. A completed phrase keeps its
credit for good and the automaton restarts. (One consequence: a phrase that overlaps the end
of another completed phrase is not matched across it.)

Per (node, token) transitions are precomputed into dense ``(nodes, vocab)`` tables so the
search applies them to all beams and candidate tokens with two gathers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from voxtext.errors import ConfigError


class HotwordAutomaton:
    """Aho-Corasick over the characters of ``phrases`` with a per-character bonus each."""

    def __init__(self, phrases: Sequence[str], bonuses: Sequence[float]) -> None:
        self.children: list[dict[str, int]] = [{}]
        self.potential = [0.0]
        self.complete = [False]
        for phrase, bonus in zip(phrases, bonuses, strict=True):
            node = 0
            for depth, char in enumerate(phrase, start=1):
                if char not in self.children[node]:
                    self.children[node][char] = len(self.children)
                    self.children.append({})
                    self.potential.append(0.0)
                    self.complete.append(False)
                node = self.children[node][char]
                self.potential[node] = max(self.potential[node], bonus * depth)
            self.complete[node] = True
        self.fail = self._failure_links()
        self.alphabet = {c for edges in self.children for c in edges}

    def _failure_links(self) -> list[int]:
        fail = [0] * len(self.children)
        queue = deque(self.children[0].values())
        while queue:
            node = queue.popleft()
            for char, child in self.children[node].items():
                fail[child] = self.goto(fail[node], char, fail) if node else 0
                queue.append(child)
        return fail

    def goto(self, node: int, char: str, fail: list[int] | None = None) -> int:
        fail = self.fail if fail is None else fail
        while node and char not in self.children[node]:
            node = fail[node]
        return self.children[node].get(char, 0)

    def walk(self, node: int, text: str) -> tuple[int, float]:
        """The node after reading ``text`` from ``node``, and the bonus change on the way."""
        change = 0.0
        for char in text:
            after = self.goto(node, char)
            change += self.potential[after] - self.potential[node]
            node = 0 if self.complete[after] else after  # a completed phrase keeps its credit
        return node, change


class HotwordFusion:
    """Search-side hotword scorer; state per beam: the automaton node."""

    def __init__(
        self,
        phrases: Sequence[str],
        bonuses: Sequence[float],
        symbols: Sequence[str],
        blank_id: int,
        boundary: str,
    ) -> None:
        cleaned = [" ".join(p.replace(boundary, " ").split()) for p in phrases]
        empty = [repr(p) for p, c in zip(phrases, cleaned, strict=True) if not c]
        if empty:
            raise ConfigError(f"hotwords: {', '.join(empty)} contain no characters; remove them")
        automaton = HotwordAutomaton(cleaned, bonuses)
        nodes = len(automaton.children)
        self.next_node = np.zeros((nodes, len(symbols)), dtype=np.int64)
        self.change = np.zeros((nodes, len(symbols)))
        self.potential = np.asarray(automaton.potential)
        for token, symbol in enumerate(symbols):
            text = symbol.replace(boundary, " ")
            if token == blank_id or not text:
                continue
            if text[0] not in automaton.alphabet:
                # The first character sends every node back to the root: one walk serves all.
                node, change = automaton.walk(0, text[1:])
                self.next_node[:, token] = node
                self.change[:, token] = change - self.potential
                continue
            for start in range(nodes):
                self.next_node[start, token], self.change[start, token] = automaton.walk(
                    start, text
                )

    def start(self, batch: int, beams: int) -> tuple[np.ndarray, ...]:
        return (np.zeros((batch, beams), dtype=np.int64),)

    def extend(
        self, state: tuple[np.ndarray, ...], tokens: np.ndarray
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        node = state[0][:, :, None]
        token = tokens[:, None, :]
        return self.change[node, token], (self.next_node[node, token],)

    def finish(self, state: tuple[np.ndarray, ...]) -> np.ndarray:
        return -self.potential[state[0]]  # partial matches at the end earn nothing
