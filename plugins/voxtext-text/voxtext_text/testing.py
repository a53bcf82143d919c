"""A tiny randomly initialised BERT checkpoint for tests (no downloads).

``save_tiny_bert(folder)`` writes what ``save_pretrained`` writes for a real model (config.json,
model.safetensors; vocab.txt, tokenizer.json and tokenizer_config.json of a fast WordPiece
tokenizer), so tests go through the same ``AutoModel``/``AutoTokenizer.from_pretrained`` path
a real checkpoint takes. Any lowercase English text tokenises without ``[UNK]``: besides the
given words, the vocabulary holds every ASCII letter, digit and punctuation mark, alone and as
a ``##`` continuation piece.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

#: Specials first, in BERT's usual names; ``[PAD]`` is id 0.
TINY_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

DEFAULT_WORDS = (
    "the", "a", "an", "and", "or", "not", "is", "was", "it", "this", "that", "of", "to", "in",
    "i", "you", "we", "they", "movie", "film", "food", "service", "good", "great", "bad",
    "terrible", "love", "hate", "like", "very", "really", "best", "worst", "fine", "okay",
    "happy", "sad", "angry", "new", "york", "london", "paris", "john", "mary", "visited",
    "works", "at", "google", "city", "today", "yesterday",
)  # fmt: skip


def tiny_bert_vocabulary(words: Sequence[str] = DEFAULT_WORDS) -> list[str]:
    """Specials, the given words, then single characters and their ``##`` pieces."""
    characters = string.ascii_lowercase + string.digits + string.punctuation
    pieces = [*TINY_SPECIALS, *words, *characters, *(f"##{c}" for c in characters)]
    return list(dict.fromkeys(pieces))  # a word that is also a character stays once


def save_tiny_bert(
    path: str | Path,
    words: Sequence[str] = DEFAULT_WORDS,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 64,
    seed: int = 0,
) -> Path:
    """Build, seed and ``save_pretrained`` a tiny ``BertModel`` and its ``BertTokenizerFast``
    into ``path`` (created if needed); returns ``path``. 128 positions, lowercasing tokenizer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocabulary = tiny_bert_vocabulary(words)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"  # the file form works across transformers versions
    vocab_file.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(vocab_file), do_lower_case=True, model_max_length=128)
    config = BertConfig(
        vocab_size=len(vocabulary),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
