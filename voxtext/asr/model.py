"""``CTCModel``: registry components composed into one recogniser.

    waveforms (B, S) --waveform augmentations--> feature extractor --> normaliser
      --feature augmentations--> encoder (B, T', D) --dropout, linear--> log-probs (B, T', V)

The front end runs in float32 outside autocast (log-mel of bf16 audio loses too much); the
encoder runs under the trainer's autocast; log-probs are float32 so the CTC loss is too.
Augmentations run only in training mode and only with a generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from voxtext.protocols import encoder_takes_waveform


class CTCModel(nn.Module):
    """A CTC recogniser over registry components; see the module docstring for the flow."""

    def __init__(
        self,
        *,
        features: Any,
        normalizer: Any | None,
        encoder: nn.Module,
        vocab_size: int,
        augmentations: Sequence[Any] = (),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.features = features
        self.normalizer = normalizer
        self.encoder = encoder
        self.augmentations = list(augmentations)
        self.takes_waveform = encoder_takes_waveform(encoder)
        self.dropout = nn.Dropout(dropout)
        output_dim: int = getattr(encoder, "output_dim")  # noqa: B009 (protocols.Encoder)
        self.head = nn.Linear(output_dim, vocab_size)

    def front_end(
        self, waveforms: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder input from waveforms: augmented (training only), featurised, normalised."""
        augment = self.training and generator is not None
        device_type = waveforms.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            x, x_lengths = waveforms.float(), lengths
            if augment:
                x, x_lengths = self._augment(x, x_lengths, "waveform", generator)
            if self.takes_waveform:
                return x, x_lengths
            x, x_lengths = self.features(x, x_lengths)
            if self.normalizer is not None:
                x = self.normalizer(x, x_lengths)
            if augment:
                x, x_lengths = self._augment(x, x_lengths, "features", generator)
        return x, x_lengths

    def forward(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, S)`` waveforms and lengths -> float32 log-probs ``(B, T', V)`` and ``(B,)``."""
        x, x_lengths = self.front_end(waveforms, lengths, generator)
        encoded, out_lengths = self.encoder(x, x_lengths)
        logits = self.head(self.dropout(encoded))
        return logits.float().log_softmax(dim=-1), out_lengths

    def _augment(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        domain: str,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        assert generator is not None
        for augmentation in self.augmentations:
            if augmentation.domain == domain:
                x, lengths = augmentation(x, lengths, generator)
        return x, lengths
