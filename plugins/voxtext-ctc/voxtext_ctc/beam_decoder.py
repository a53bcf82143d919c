"""``ctc-beam``: batched CTC prefix beam search with optional n-gram LM and hotwords.

Build it with the tokenizer's symbols (see ``decoder_inputs``)::

    decoder = voxtext.registry("decoders").create(
        "ctc-beam", symbols=tok.symbols, blank_id=tok.blank_id, beam_size=10,
        lm_path="lm.arpa", lm_unit="word", alpha=0.5, beta=1.0, hotwords=["voxtext"])

Search settings follow pyctcdecode's names and defaults where they mean the same thing
(``token_min_logp=-5``, ``beam_prune_logp=-10``), so results are comparable.
"""

from __future__ import annotations

import torch

from voxtext.errors import ConfigError
from voxtext.protocols import Hypothesis
from voxtext_ctc.beam_search import Fusion, SearchSettings, prefix_beam_search
from voxtext_ctc.configs import BeamConfig
from voxtext_ctc.decoder_inputs import check_inputs, check_symbols
from voxtext_ctc.text_units import join_symbols


class BeamCTCDecoder:
    """See the module doc and ``protocols.CTCDecoder``."""

    def __init__(self, config: BeamConfig) -> None:
        check_symbols(config.symbols, config.blank_id, "ctc-beam")
        self.config = config
        self.settings = SearchSettings(
            beam_size=config.beam_size,
            blank_id=config.blank_id,
            token_beam=config.token_beam,
            token_min_logp=config.token_min_logp,
            beam_prune_logp=config.beam_prune_logp,
        )
        self.fusions: list[Fusion] = []
        if config.lm_path is not None:
            self.fusions.append(self._lm_fusion(config))
        if config.hotwords:
            from voxtext_ctc.hotwords import HotwordFusion

            bonuses = config.hotword_bonuses or (config.hotword_bonus,) * len(config.hotwords)
            self.fusions.append(
                HotwordFusion(
                    config.hotwords, bonuses, config.symbols, config.blank_id, config.word_boundary
                )
            )

    @staticmethod
    def _lm_fusion(config: BeamConfig) -> Fusion:
        from voxtext_ctc.arpa import read_arpa
        from voxtext_ctc.lm_fusion import TokenLMFusion, WordLMFusion

        if config.lm_path is None or not config.lm_path.is_file():
            raise ConfigError(
                f"ctc-beam: lm_path={config.lm_path} is not a file; give the path "
                "of an ARPA n-gram model"
            )
        lm = read_arpa(config.lm_path)
        if config.lm_unit == "word":
            return WordLMFusion(lm, config.symbols, config.word_boundary, config.alpha, config.beta)
        return TokenLMFusion(
            lm,
            config.symbols,
            config.word_boundary,
            config.lm_boundary_word,
            config.alpha,
            config.beta,
        )

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]:
        cfg = self.config
        lengths = check_inputs(log_probs, lengths, len(cfg.symbols), "ctc-beam")
        results = prefix_beam_search(log_probs, lengths, self.settings, self.fusions, cfg.nbest)
        return [
            [
                Hypothesis(
                    tuple(tokens),
                    join_symbols(cfg.symbols, tokens, cfg.blank_id, cfg.word_boundary),
                    score,
                )
                for tokens, score in row
            ]
            for row in results
        ]
