"""``CTCModel``: registry components composed into one recogniser.

    waveforms (B, S) --waveform augmentations--> feature extractor --> normaliser
      --feature augmentations--> [group modules: before_encoder] --> encoder (B, T', D)
      --[group modules: after_encoder]--> dropout, linear --> log-probs (B, T', V)

Group modules (dialect conditioning, adapters, a dialect-ID head; ``protocols.GroupModule``)
take the batch's group ids, 0 meaning unknown. In training the model hides each row's true
group (replaces it by unknown) with the modules' ``unknown_probability``, so the unknown
fallback path is trained too; auxiliary objectives (``return_auxiliary=True``) see the true
groups and which rows were hidden.

The front end runs in float32 outside autocast (log-mel of bf16 audio loses too much); the
encoder runs under the trainer's autocast; log-probs are float32 so the CTC loss is too.
Augmentations run only in training mode and only with a generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast, overload

import torch
from torch import nn

from voxtext.protocols import AuxiliaryOutput, GroupModule, encoder_takes_waveform


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
        group_modules: Sequence[Any] = (),
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
        self.group_modules = nn.ModuleList(group_modules)
        self.unknown_probability = max((m.unknown_probability for m in group_modules), default=0.0)
        self.reads_groups = any(m.reads_groups for m in group_modules)

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

    @overload
    def forward(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        generator: torch.Generator | None = None,
        group_ids: torch.Tensor | None = None,
        *,
        return_auxiliary: Literal[False] = False,
        hide_groups: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    @overload
    def forward(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        generator: torch.Generator | None = None,
        group_ids: torch.Tensor | None = None,
        *,
        return_auxiliary: Literal[True],
        hide_groups: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, AuxiliaryOutput | None]: ...

    def forward(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        generator: torch.Generator | None = None,
        group_ids: torch.Tensor | None = None,
        *,
        return_auxiliary: bool = False,
        hide_groups: bool = False,
    ) -> Any:
        """``(B, S)`` waveforms and lengths -> float32 log-probs ``(B, T', V)`` and ``(B,)``;
        ``group_ids`` int64 ``(B,)`` (``None``: all unknown). With ``return_auxiliary`` also
        the group modules' auxiliary objectives combined (``None`` when there are none).
        ``hide_groups`` runs the model as if every group were unknown while the auxiliary
        objectives still score against ``group_ids`` (dialect identification from audio)."""
        x, x_lengths = self.front_end(waveforms, lengths, generator)
        if group_ids is None:
            group_ids = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        visible = (
            torch.zeros_like(group_ids) if hide_groups else self._hide_groups(group_ids, generator)
        )
        encoded, out_lengths = self._encode(x, x_lengths, visible)
        logits = self.head(self.dropout(encoded))
        log_probs = logits.float().log_softmax(dim=-1)
        if not return_auxiliary:
            return log_probs, out_lengths
        hidden = visible == 0 if self.reads_groups else torch.ones_like(visible, dtype=torch.bool)
        return log_probs, out_lengths, self._auxiliary(encoded, out_lengths, group_ids, hidden)

    @property
    def identifies_groups(self) -> bool:
        """Whether a group module can tell each utterance's group from its audio."""
        return any(hasattr(m, "predict_groups") for m in self.group_modules)

    def predict_group_ids(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Group ids ``(B,)`` the model identifies from ``(B, S)`` audio, having been shown no
        group (the first module with ``predict_groups`` decides)."""
        identifiers: list[Any] = [m for m in self.group_modules if hasattr(m, "predict_groups")]
        if not identifiers:
            raise ValueError(
                "this model has no group-identification module (train it with the "
                "dialect-id strategy) so it cannot choose a group by itself"
            )
        x, x_lengths = self.front_end(waveforms, lengths, None)
        unknown = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        encoded, out_lengths = self._encode(x, x_lengths, unknown)
        return identifiers[0].predict_groups(encoded, out_lengths).long()

    def _encode(
        self, x: torch.Tensor, lengths: torch.Tensor, visible: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder between the group modules' hooks, which see the ``visible`` group ids."""
        for module in self._groups():
            x = module.before_encoder(x, lengths, visible)
        encoded, out_lengths = self.encoder(x, lengths)
        for module in self._groups():
            encoded = module.after_encoder(encoded, out_lengths, visible)
        return encoded, out_lengths

    def _groups(self) -> list[GroupModule]:
        return [cast(GroupModule, module) for module in self.group_modules]

    def _hide_groups(
        self, group_ids: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """In training, each row's group replaced by unknown (0) with ``unknown_probability``,
        drawn from the trainer's generator (so a resumed run draws the same)."""
        if not (self.training and generator is not None and self.unknown_probability > 0):
            return group_ids
        draws = torch.rand(group_ids.shape[0], generator=generator).to(group_ids.device)
        return group_ids.masked_fill(draws < self.unknown_probability, 0)

    def _auxiliary(
        self,
        encoded: torch.Tensor,
        lengths: torch.Tensor,
        group_ids: torch.Tensor,
        hidden: torch.Tensor,
    ) -> AuxiliaryOutput | None:
        outputs = [m.auxiliary(encoded, lengths, group_ids, hidden) for m in self._groups()]
        present = [o for o in outputs if o is not None]
        if not present:
            return None
        ratios: dict[str, tuple[float, float]] = {}
        for output in present:
            ratios.update(output.ratios)
        return AuxiliaryOutput(torch.stack([o.loss.float() for o in present]).sum(), ratios)

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
