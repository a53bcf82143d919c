"""Any transformers text encoder (BERT, RoBERTa, DistilBERT, DeBERTa-v2, MiniLM ...) loaded
offline from a local folder, with its fast tokenizer.

``forward(input_ids, lengths)``: ``input_ids`` int64 ``(batch, tokens)``, ``lengths`` int64
``(batch,)``; returns ``(hidden (batch, tokens, output_dim), lengths)``. The attention mask
comes from ``lengths``, padding ids are replaced by the pad id before the model sees them, and
hidden states past a row's length are zero, so whatever fills the padding cannot change a valid
position. The model is built without its pooler (a head pools), so every parameter takes part.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext_text.encoder_configs import DEFAULT_LORA_TARGETS, HFTextEncoderConfig

EXPECTED = (
    "a folder written by save_pretrained() of a transformers text encoder (BERT family): "
    "config.json, the tokenizer files (tokenizer.json, or vocab.txt / vocab.json / a "
    "sentencepiece .model) and, for pretrained weights, model.safetensors or pytorch_model.bin"
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json")

#: Families whose position ids start after the pad id (RoBERTa's scheme), so
#: ``max_position_embeddings`` counts ``pad_token_id + 1`` slots that text cannot use.
OFFSET_POSITIONS = frozenset(
    {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "data2vec-text"}
    | {"ibert", "mpnet", "roberta-prelayernorm", "xmod", "markuplm", "lilt"}
)

#: Suffix groups tried, in order, when a model type has no entry in DEFAULT_LORA_TARGETS.
LORA_CANDIDATES = (
    ("query", "value"),
    ("query_proj", "value_proj"),
    ("q_proj", "v_proj"),
    ("q_lin", "v_lin"),
    ("q", "v"),
)


def padded_forward(
    model: nn.Module, input_ids: torch.Tensor, lengths: torch.Tensor, pad_id: int, name: str
) -> torch.Tensor:
    """``model(ids, attention_mask)`` on a padded batch: padding becomes ``pad_id`` (junk ids
    could be out of range, and some models derive positions from the pad id), the mask comes
    from ``lengths`` and the returned hidden states are zero past each row's length."""
    if input_ids.dim() != 2 or input_ids.dtype not in (torch.int64, torch.int32):
        raise ValueError(
            f"{name} takes token ids int64 (batch, tokens), got {input_ids.dtype} "
            f"{tuple(input_ids.shape)}; tokenise the text with encoder.tokenizer first"
        )
    if lengths.shape != (input_ids.shape[0],):
        raise ValueError(
            f"{name}: lengths must have shape ({input_ids.shape[0]},), got {tuple(lengths.shape)}"
        )
    if not torch.compiler.is_compiling() and (
        int(lengths.min()) < 1 or int(lengths.max()) > input_ids.shape[1]
    ):
        raise ValueError(
            f"{name}: lengths must be within 1..{input_ids.shape[1]} (the ids given), got "
            f"{lengths.tolist()}"
        )
    valid = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :] < lengths[:, None]
    ids = input_ids.masked_fill(~valid, pad_id)
    hidden = model(input_ids=ids, attention_mask=valid.long()).last_hidden_state
    return hidden.masked_fill(~valid.unsqueeze(-1), 0.0)


class HFTokenizer:
    """A transformers fast tokenizer behind ``voxtext.protocols.TextTokenizer``: special tokens
    added, truncated to ``max_length``."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.hf_tokenizer = tokenizer  # the transformers tokenizer, for save_pretrained
        self.max_length = max_length
        self.vocab_size = len(tokenizer)
        self.pad_id: int = tokenizer.pad_token_id
        self.mask_id: int | None = tokenizer.mask_token_id
        self.special_ids = frozenset(int(i) for i in tokenizer.all_special_ids)
        self._options = {
            "truncation": True,
            "max_length": max_length,
            "return_attention_mask": False,
            "return_token_type_ids": False,
        }

    def encode(self, text: str) -> list[int]:
        return list(self.hf_tokenizer(text, **self._options)["input_ids"])

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [list(ids) for ids in self.hf_tokenizer(list(texts), **self._options)["input_ids"]]

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int | None]]:
        """Ids of pre-split words and the word index of each id (``None`` for specials); a word
        the tokenizer turns into nothing gets no ids."""
        encoding = self.hf_tokenizer(list(words), is_split_into_words=True, **self._options)
        return list(encoding["input_ids"]), list(encoding.word_ids())

    def tokens(self, ids: Sequence[int]) -> list[str]:
        return list(self.hf_tokenizer.convert_ids_to_tokens([int(i) for i in ids]))


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers logs a load report for the pooler weights we leave out on purpose; the
    weights that matter (missing ones) are reported by :func:`build_model` itself."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    progress_bar = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # a bar per load is noise in training logs
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if progress_bar:
            hf_logging.enable_progress_bar()


def check_folder(path_text: str) -> Path:
    path = Path(path_text).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"hf-text: encoder.path '{path}' does not exist or is not a folder; expected "
            f"{EXPECTED}. Models are never downloaded: save one locally first."
        )
    if not (path / "config.json").is_file():
        raise ConfigError(f"hf-text: encoder.path '{path}' has no config.json; expected {EXPECTED}")
    has_sentencepiece = any(path.glob("*.model"))
    if not has_sentencepiece and not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise ConfigError(
            f"hf-text: encoder.path '{path}' has no tokenizer files ({', '.join(TOKENIZER_FILES)}"
            f" or a sentencepiece .model); save the tokenizer there too "
            f"(tokenizer.save_pretrained('{path}'))"
        )
    return path


def load_model_config(path: Path) -> Any:
    """The folder's transformers config, refusing models that are not text encoders."""
    from transformers import MODEL_FOR_MASKED_LM_MAPPING, AutoConfig

    try:
        model_config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"hf-text: cannot read '{path / 'config.json'}' ({exc}); expected {EXPECTED}"
        ) from exc
    # Bidirectional encoders are the models with a masked-LM head; decoders (gpt2, llama) and
    # encoder-decoders (t5, bart) would need a different pooling and input scheme.
    if model_config.is_encoder_decoder or type(model_config) not in MODEL_FOR_MASKED_LM_MAPPING:
        raise ConfigError(
            f"hf-text: '{path}' holds a '{model_config.model_type}' model, which is not a "
            f"bidirectional text encoder (BERT, RoBERTa, DistilBERT, DeBERTa, ELECTRA, MPNet "
            f"...); expected {EXPECTED}"
        )
    return model_config


def load_tokenizer(path: Path, model_config: Any) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"hf-text: cannot load the tokenizer in '{path}' ({exc})") from exc
    if not tokenizer.is_fast:
        raise ConfigError(
            f"hf-text: the tokenizer in '{path}' is a slow (Python) tokenizer; word alignment "
            "needs a fast one: save tokenizer.json there (AutoTokenizer.from_pretrained(...,"
            " use_fast=True).save_pretrained(folder))"
        )
    if tokenizer.pad_token_id is None:
        raise ConfigError(f"hf-text: the tokenizer in '{path}' has no pad token; set one and save")
    if len(tokenizer) <= len(tokenizer.all_special_ids):
        raise ConfigError(f"hf-text: the tokenizer in '{path}' has an empty vocabulary")
    if len(tokenizer) > model_config.vocab_size:
        raise ConfigError(
            f"hf-text: the tokenizer in '{path}' has {len(tokenizer)} entries but the model "
            f"embeds only {model_config.vocab_size}; they do not belong together"
        )
    return tokenizer


def position_limit(model_config: Any, tokenizer: Any) -> int | None:
    """Most ids per text the model can place (``None``: no fixed limit)."""
    limits = []
    positions = getattr(model_config, "max_position_embeddings", None)
    if positions:
        if model_config.model_type in OFFSET_POSITIONS:
            positions -= (model_config.pad_token_id or 0) + 1
        limits.append(int(positions))
    if isinstance(tokenizer.model_max_length, int) and tokenizer.model_max_length < 1_000_000:
        limits.append(tokenizer.model_max_length)  # larger values are "unset" sentinels
    return min(limits) if limits else None


def build_model(config: HFTextEncoderConfig, path: Path, model_config: Any) -> Any:
    from transformers import MODEL_MAPPING, AutoModel

    options: dict[str, Any] = {"attn_implementation": config.attn_implementation}
    model_class: Any = MODEL_MAPPING[type(model_config)]
    if isinstance(model_class, (list, tuple)):  # a config type mapped to several classes
        model_class = model_class[0]
    if "add_pooling_layer" in inspect.signature(model_class.__init__).parameters:
        options["add_pooling_layer"] = False  # a pooler without a loss would get no gradient
    if not config.pretrained:
        return AutoModel.from_config(model_config, **options)
    with quiet_transformers():
        try:
            model, info = AutoModel.from_pretrained(
                path, local_files_only=True, output_loading_info=True, **options
            )
        except OSError as exc:
            raise ConfigError(
                f"hf-text: cannot load weights from '{path}' ({exc}); expected {EXPECTED}, or "
                "set encoder.pretrained = false to start from random weights"
            ) from exc
    if info["missing_keys"]:
        missing = sorted(info["missing_keys"])
        warnings.warn(
            f"hf-text: '{path}' has no weights for {len(missing)} parameters "
            f"({', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}); they start random",
            stacklevel=3,
        )
    return model


def resolve_lora_targets(config: HFTextEncoderConfig, model: Any) -> tuple[str, ...]:
    """The configured targets (checked against the model's module names), the family's default,
    or the first known query/value naming the model has; ``()`` when none is found."""
    names = [name for name, _ in model.named_modules()]
    linear = sorted(
        {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    )
    if config.lora_targets is not None:
        # PEFT's rule: a target names a module exactly or is the last parts of its dotted name.
        absent = [
            t for t in config.lora_targets if not any(n == t or n.endswith(f".{t}") for n in names)
        ]
        if absent:
            raise ConfigError(
                f"hf-text.lora_targets: no module of '{config.path}' ends with {absent}; its "
                f"linear layers are named {linear}"
            )
        return tuple(config.lora_targets)
    default = DEFAULT_LORA_TARGETS.get(model.config.model_type)
    if default is not None:
        return default
    for candidate in LORA_CANDIDATES:
        if all(target in linear for target in candidate):
            return candidate
    return ()


class HFTextEncoder(nn.Module):
    """The ``hf-text`` encoder (see the module docstring for shapes)."""

    takes_tokens = True

    def __init__(self, config: HFTextEncoderConfig) -> None:
        super().__init__()
        path = check_folder(config.path)
        model_config = load_model_config(path)
        hf_tokenizer = load_tokenizer(path, model_config)
        limit = position_limit(model_config, hf_tokenizer)
        self.max_length = min(config.max_length, limit) if limit else config.max_length
        self.tokenizer = HFTokenizer(hf_tokenizer, self.max_length)
        self.model: Any = build_model(config, path, model_config)  # a transformers PreTrainedModel
        self.config = config
        self.output_dim = int(model_config.hidden_size)
        self.lora_targets = resolve_lora_targets(config, self.model)
        if config.gradient_checkpointing:
            if not getattr(self.model, "supports_gradient_checkpointing", False):
                raise ConfigError(
                    f"hf-text.gradient_checkpointing: {type(self.model).__name__} does not "
                    "support it; set it to false"
                )
            # Non-reentrant checkpointing works with inputs that do not require grad (ids).
            options = {"use_reentrant": False}
            if hasattr(self.model, "activation_checkpointing_enable"):  # transformers >= 5.x
                self.model.activation_checkpointing_enable(options)
            else:
                self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=options)
        self.train()  # from_pretrained leaves the model in eval mode; modules start in train

    def forward(
        self, input_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not torch.compiler.is_compiling() and input_ids.shape[1] > self.max_length:
            raise ValueError(
                f"hf-text: {input_ids.shape[1]} ids per row exceed max_length={self.max_length}; "
                "encode with encoder.tokenizer, which truncates"
            )
        hidden = padded_forward(self.model, input_ids, lengths, self.tokenizer.pad_id, "hf-text")
        return hidden, lengths

    def input_embeddings(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    def to_dict(self) -> dict[str, Any]:
        """Config values that rebuild this architecture and tokenizer with random weights."""
        return {
            "path": str(self.config.path),
            "pretrained": False,
            "max_length": self.max_length,
            "attn_implementation": self.config.attn_implementation,
            "lora_targets": list(self.lora_targets) if self.lora_targets else None,
            "gradient_checkpointing": self.config.gradient_checkpointing,
        }

    def save_files(self, directory: str | Path) -> None:
        """Write the model config and tokenizer files (no weights) to ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.config.save_pretrained(directory)
        self.tokenizer.hf_tokenizer.save_pretrained(directory)
