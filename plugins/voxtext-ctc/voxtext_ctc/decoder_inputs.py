"""What every CTC decoder here shares: the symbol table it maps ids to text with, and the
checks on ``(log_probs, lengths)`` so a wrong call fails with a clear message.

Decoders take the tokenizer's symbols as configuration rather than a tokenizer object, so a
decoder config stays plain data::

    tok = voxtext.registry("tokenizers").create("char", texts=train_texts)
    decoder = voxtext.registry("decoders").create(
        "ctc-beam", symbols=tok.symbols, blank_id=tok.blank_id, beam_size=10)

A hypothesis's text is the symbols joined, the word boundary ``▁`` read as a space (the rule
both tokenizers of this plugin decode with, so ``hyp.text == tok.decode(hyp.tokens)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from voxtext.errors import ConfigError, DataError


def check_symbols(symbols: Sequence[str], blank_id: int, where: str) -> None:
    if not symbols:
        raise ConfigError(
            f"{where}: `symbols` is empty; pass the tokenizer's symbols, e.g. "
            "create('<decoder>', symbols=tokenizer.symbols, blank_id=tokenizer.blank_id)"
        )
    if not 0 <= blank_id < len(symbols):
        raise ConfigError(
            f"{where}: blank_id={blank_id} is not an index of the {len(symbols)} symbols"
        )


def check_inputs(
    log_probs: torch.Tensor, lengths: torch.Tensor, vocab_size: int, where: str
) -> torch.Tensor:
    """Validate shapes; returns ``lengths`` as int64 on the CPU."""
    if not isinstance(log_probs, torch.Tensor) or log_probs.dim() != 3:
        shape = tuple(log_probs.shape) if isinstance(log_probs, torch.Tensor) else type(log_probs)
        raise DataError(f"{where}: log_probs must be a (batch, frames, vocab) tensor, got {shape}")
    if not log_probs.is_floating_point():
        raise DataError(f"{where}: log_probs must be floating point, got {log_probs.dtype}")
    batch, frames, vocab = log_probs.shape
    if vocab != vocab_size:
        raise DataError(
            f"{where}: log_probs has {vocab} classes but the decoder has "
            f"{vocab_size} symbols; build it with the tokenizer the model was "
            "trained with"
        )
    lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
    if lengths.shape != (batch,):
        raise DataError(f"{where}: lengths must have shape ({batch},), got {tuple(lengths.shape)}")
    if batch and (lengths.min() < 0 or lengths.max() > frames):
        raise DataError(
            f"{where}: lengths must lie in 0..{frames} (the frames dimension), got "
            f"min {int(lengths.min())}, max {int(lengths.max())}"
        )
    return lengths
