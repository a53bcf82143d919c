"""``WhisperSeq2Seq``: Whisper's encoder *and* text decoder on variable-length audio.

    waveforms (B, S) --whisper-log-mel--> (B, T, n_mels) --whisper encoder--> (B, T/2, D)
      --decoder over [prefix, text tokens] with cross-attention--> logits (B, L, vocab)

The front end and encoder are the plugin's own (``features.WhisperLogMel``,
``encoder.WhisperAudioEncoder``): no 30 s padding, a key-padding mask inside the encoder.
transformers' ``WhisperDecoder.forward`` passes no mask to cross-attention (it assumes 30 s
windows), so the decoder is run here layer by layer with one: a row of a padded batch then
gives the logits it gives alone. Greedy decoding keeps the layers' key/value cache.

Targets are what Whisper was trained on: the prefix (``<|startoftranscript|>``, for a
multilingual model the language and ``<|transcribe|>``, then ``<|notimestamps|>``), the text
with a leading space, and ``<|endoftext|>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext_whisper.configs import WhisperEncoderConfig, WhisperLogMelConfig
from voxtext_whisper.convert import transformers_folder
from voxtext_whisper.encoder import EXPECTED, WhisperAudioEncoder, key_padding_mask
from voxtext_whisper.features import WhisperLogMel


class WhisperTargets:
    """Whisper's tokenizer as ``UtteranceDataset`` wants one: ``encode(text)`` gives the full
    decoder sequence (prefix + text + end of text), ``decode(ids)`` the text of generated ids.
    ``language`` (``"en"``, ``"zh"``) is required for a multilingual model and refused for an
    English-only one, whose prefix names no language (``multilingual``: Whisper's own test,
    a vocabulary of 51865 tokens or more; English-only ones have 51864)."""

    def __init__(self, path: Path, language: str | None, *, multilingual: bool) -> None:
        from transformers import WhisperTokenizer

        self.tokenizer = WhisperTokenizer.from_pretrained(path, local_files_only=True)
        vocabulary = self.tokenizer.get_vocab()
        tokens = ["<|startoftranscript|>"]
        if multilingual:
            if language is None:
                raise ConfigError(
                    f"model.language: '{path}' is a multilingual Whisper; name the language "
                    'to transcribe (e.g. language = "en" or "zh")'
                )
            if f"<|{language}|>" not in vocabulary:
                raise ConfigError(
                    f"model.language: {language!r} is not a language of '{path}' (no token "
                    f"<|{language}|>)"
                )
            tokens += [f"<|{language}|>", "<|transcribe|>"]
        elif language not in (None, "en"):
            raise ConfigError(
                f"model.language: '{path}' is an English-only Whisper; language must be 'en' "
                f"or unset, not {language!r}"
            )
        tokens.append("<|notimestamps|>")
        self.prefix = [int(vocabulary[t]) for t in tokens]
        self.end = int(vocabulary["<|endoftext|>"])
        self.vocab_size = len(vocabulary)

    def encode(self, text: str) -> list[int]:
        ids = self.tokenizer.encode(" " + text.strip(), add_special_tokens=False)
        return [*self.prefix, *ids, self.end] if ids else []

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True)).strip()


def load_whisper(path: str | Path, field: str) -> tuple[Path, Any]:
    """The transformers folder (a packaged name is converted once into the cache) and its
    ``WhisperForConditionalGeneration``."""
    from transformers import WhisperForConditionalGeneration

    folder = transformers_folder(path, field)
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{field}: '{folder}' has no config.json; expected {EXPECTED}")
    model = WhisperForConditionalGeneration.from_pretrained(
        folder, local_files_only=True, attn_implementation="sdpa"
    )
    return folder, model


class WhisperSeq2Seq(nn.Module):
    """See the module docstring. ``whisper``: a ``WhisperForConditionalGeneration`` whose
    encoder, decoder and output projection this module takes over (weights shared)."""

    def __init__(
        self,
        whisper: Any,
        features: WhisperLogMel,
        *,
        freeze_conv_frontend: bool = False,
        freeze_encoder_layers: int = 0,
        freeze_decoder: bool = False,
    ) -> None:
        super().__init__()
        self.features = features
        encoder_config = WhisperEncoderConfig(
            freeze_conv_frontend=freeze_conv_frontend, freeze_layers=freeze_encoder_layers
        )
        self.encoder = WhisperAudioEncoder(encoder_config, module=whisper.model.encoder)
        self.decoder = whisper.model.decoder
        self.proj_out = whisper.proj_out
        self.max_target_positions = int(whisper.config.max_target_positions)
        self.config = whisper.config
        generation = whisper.generation_config
        #: never generated / not as the first token (Whisper's own lists: music symbols,
        #: speaker tags; a blank or end of text first), as faster-whisper applies them
        self.suppress_tokens = [int(t) for t in generation.suppress_tokens or ()]
        self.begin_suppress_tokens = [int(t) for t in generation.begin_suppress_tokens or ()]
        if freeze_decoder:
            self.decoder.requires_grad_(False)

    def encode(
        self, waveforms: torch.Tensor, lengths: torch.Tensor, window: int | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Encoder states ``(B, T', D)`` and their lengths ``(B,)``; log-mel in float32.
        ``window``: pad every row's log-mel with zeros to that many frames and encode all of
        them, as Whisper and faster-whisper decode (3000 frames, 30 s); ``None`` encodes each
        row's own frames only."""
        with torch.autocast(device_type=waveforms.device.type, enabled=False):
            x, frames = self.features(waveforms.float(), lengths)
        if window is not None:
            if x.shape[1] > window:
                raise ValueError(
                    f"whisper: {x.shape[1]} log-mel frames exceed the {window}-frame window; "
                    "split longer audio first"
                )
            x = nn.functional.pad(x, (0, 0, 0, window - x.shape[1]))  # zero past each row
            frames = torch.full_like(frames, window)
        return self.encoder(x, frames)

    def forward(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        decoder_input_ids: torch.Tensor,
    ) -> torch.Tensor:
        """Teacher-forced float32 logits ``(B, L, vocab)`` for ``decoder_input_ids (B, L)``."""
        encoded, out_lengths = self.encode(waveforms, lengths)
        return self.decode_step(decoder_input_ids, encoded, out_lengths, cache=None)

    def decode_step(
        self,
        input_ids: torch.Tensor,
        encoded: torch.Tensor,
        out_lengths: torch.Tensor,
        *,
        cache: Any,
    ) -> torch.Tensor:
        """Logits for ``input_ids`` following what ``cache`` (an ``EncoderDecoderCache`` or
        ``None``) holds; cross-attention sees only each row's valid encoder frames."""
        decoder = self.decoder
        past = cache.get_seq_length() if cache is not None else 0
        if past + input_ids.shape[1] > self.max_target_positions:
            raise ValueError(
                f"whisper decoder: {past + input_ids.shape[1]} tokens exceed its "
                f"{self.max_target_positions} positions"
            )
        hidden = decoder.embed_tokens(input_ids)
        positions = torch.arange(past, past + input_ids.shape[1], device=input_ids.device)
        hidden = hidden + decoder.embed_positions.weight[positions].to(hidden.dtype)
        hidden = nn.functional.dropout(hidden, p=decoder.dropout, training=self.training)
        steps = input_ids.shape[1]
        causal = torch.ones(steps, past + steps, dtype=torch.bool, device=input_ids.device)
        causal = causal.tril(diagonal=past)[None, None]  # (1, 1, L, past + L): True = attend
        cross = key_padding_mask(out_lengths, encoded.shape[1])
        for layer in decoder.layers:
            hidden = layer(
                hidden,
                causal,
                encoded,
                encoder_attention_mask=cross,
                cache=cache,
                use_cache=cache is not None,
            )
        return self.proj_out(decoder.layer_norm(hidden)).float()

    @torch.no_grad()
    def greedy(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        prefix: Sequence[int],
        end: int,
        *,
        max_new_tokens: int,
        window: int | None = None,
    ) -> list[list[int]]:
        """The most likely token ids after ``prefix`` for each row, up to ``end`` (excluded)
        or ``max_new_tokens``; Whisper's suppressed tokens are never chosen, its
        begin-suppressed ones not first. ``window``: as :meth:`encode` takes it."""
        found = self.generate(
            waveforms,
            lengths,
            prefix,
            end,
            max_new_tokens=[max_new_tokens] * len(lengths),
            window=window,
        )
        return [row.ids for row in found]

    @torch.no_grad()
    def generate(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        prefix: Sequence[int],
        end: int,
        *,
        max_new_tokens: Sequence[int],
        window: int | None = None,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> list[Generated]:
        """Token ids after ``prefix`` for each row, up to ``end`` (excluded) or that row's
        ``max_new_tokens``: the most likely token at ``temperature`` 0, else drawn from the
        softmax of logits / temperature with ``generator``. Each row's ``Generated`` keeps
        the summed log-probability of its tokens and of ``end`` (when reached), the way
        Whisper scores a hypothesis. Suppression and ``window``: as :meth:`greedy`."""
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        encoded, out_lengths = self.encode(waveforms, lengths, window)
        batch = encoded.shape[0]
        cache_config = _decoder_cache_config(self.config)
        cache = EncoderDecoderCache(
            DynamicCache(config=cache_config), DynamicCache(config=cache_config)
        )
        room = self.max_target_positions - len(prefix)
        limits = torch.tensor([min(n, room) for n in max_new_tokens], device=encoded.device)
        step_ids = torch.tensor([list(prefix)] * batch, device=encoded.device)
        found: list[list[int]] = [[] for _ in range(batch)]
        logprob = torch.zeros(batch, dtype=torch.float64, device=encoded.device)
        ended = torch.zeros(batch, dtype=torch.bool, device=encoded.device)
        for step in range(int(limits.max()) if batch else 0):
            logits = self.decode_step(step_ids, encoded, out_lengths, cache=cache)[:, -1]
            logits[:, self.suppress_tokens] = float("-inf")
            if step == 0:
                logits[:, self.begin_suppress_tokens] = float("-inf")
            if temperature > 0:
                probs = torch.softmax(logits / temperature, dim=-1)
                best = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            else:
                best = logits.argmax(dim=-1)
            scores = torch.log_softmax(logits, dim=-1).gather(1, best[:, None]).squeeze(1)
            live = ~ended & (step < limits)
            logprob += torch.where(live, scores.double(), 0.0)
            ended = ended | (live & (best == end))
            for row in (live & ~ended).nonzero().flatten().tolist():
                found[row].append(int(best[row]))
            if not bool((~ended & (step + 1 < limits)).any()):
                break
            step_ids = best[:, None]
        return [
            Generated(ids, float(score), bool(stop))
            for ids, score, stop in zip(found, logprob.tolist(), ended.tolist(), strict=True)
        ]


@dataclass(frozen=True)
class Generated:
    """One row of :meth:`WhisperSeq2Seq.generate`: its ``ids`` (no prefix, no end of text),
    ``logprob`` (summed over them and the end of text when ``ended``), and ``ended``: whether
    it stopped at the end of text rather than at its token limit."""

    ids: list[int]
    logprob: float
    ended: bool

    @property
    def avg_logprob(self) -> float:
        """Whisper's per-token score: the summed log-probability over tokens + 1."""
        return self.logprob / (len(self.ids) + 1)


def _decoder_cache_config(config: Any) -> Any:
    """The model config with ``num_hidden_layers`` set to the decoder's layers (what
    ``DynamicCache(config=...)`` allocates)."""
    import copy

    decoder_config = copy.deepcopy(config)
    decoder_config.num_hidden_layers = config.decoder_layers
    return decoder_config


def build_seq2seq(
    path: str | Path,
    *,
    language: str | None,
    freeze_conv_frontend: bool = False,
    freeze_encoder_layers: int = 0,
    freeze_decoder: bool = False,
    field: str = "model.path",
) -> tuple[WhisperSeq2Seq, WhisperTargets]:
    """The model with the pretrained weights of ``path`` and its target tokenizer."""
    folder, whisper = load_whisper(path, field)
    features = WhisperLogMel(WhisperLogMelConfig(path=folder))
    model = WhisperSeq2Seq(
        whisper,
        features,
        freeze_conv_frontend=freeze_conv_frontend,
        freeze_encoder_layers=freeze_encoder_layers,
        freeze_decoder=freeze_decoder,
    )
    multilingual = int(whisper.config.vocab_size) >= 51865
    return model, WhisperTargets(folder, language, multilingual=multilingual)
