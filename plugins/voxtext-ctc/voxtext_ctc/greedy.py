"""``ctc-greedy``: best path decoding — argmax per frame, collapse repeats, drop blanks.

Batched in torch on the tensor's own device; only the kept ids go to the CPU.
"""

from __future__ import annotations

import torch

from voxtext.protocols import Hypothesis
from voxtext_ctc.configs import GreedyConfig
from voxtext_ctc.decoder_inputs import check_inputs, check_symbols
from voxtext_ctc.text_units import join_symbols


def best_path(
    log_probs: torch.Tensor, lengths: torch.Tensor, blank_id: int
) -> tuple[list[list[int]], torch.Tensor]:
    """Collapsed argmax ids per row and the best path's log-probability ``(batch,)``."""
    frames = log_probs.shape[1]
    best_scores, best = log_probs.max(dim=-1)
    valid = torch.arange(frames, device=log_probs.device) < lengths.to(log_probs.device)[:, None]
    changed = torch.ones_like(valid)
    changed[:, 1:] = best[:, 1:] != best[:, :-1]
    keep = valid & changed & (best != blank_id)
    scores = torch.where(valid, best_scores, 0.0).sum(dim=1, dtype=torch.float64).cpu()
    counts = keep.sum(dim=1).tolist()
    kept_ids = best[keep].tolist()
    rows, start = [], 0
    for count in counts:
        rows.append(kept_ids[start : start + count])
        start += count
    return rows, scores


class GreedyCTCDecoder:
    """One hypothesis per row: the collapsed best path. See ``protocols.CTCDecoder``."""

    def __init__(self, config: GreedyConfig) -> None:
        check_symbols(config.symbols, config.blank_id, "ctc-greedy")
        self.config = config

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]:
        cfg = self.config
        lengths = check_inputs(log_probs, lengths, len(cfg.symbols), "ctc-greedy")
        rows, scores = best_path(log_probs.detach(), lengths, cfg.blank_id)
        return [
            [
                Hypothesis(
                    tuple(ids),
                    join_symbols(cfg.symbols, ids, cfg.blank_id, cfg.word_boundary),
                    float(score),
                )
            ]
            for ids, score in zip(rows, scores.tolist(), strict=True)
        ]
