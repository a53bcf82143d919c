"""The configurations of the encoders, kept apart from the encoders so that registering the
plugin imports neither torch nor transformers (the factories in ``plugin.py`` import those).

Also the pure-Python arithmetic of the Conv2d subsampling front end that the configurations
check (``subsampling.py`` holds the torch half and re-exports these names).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voxtext.errors import ConfigError

#: Subsampling factors the front end supports: 1 is a linear projection only; 2, 4 and 8 stack
#: that many halvings (log2) of stride-2 Conv2d layers.
SUBSAMPLING_FACTORS = (1, 2, 4, 8)
KERNEL = 3
STRIDE = 2


def check_subsampling(factor: int, input_dim: int, where: str) -> None:
    """Raise a ConfigError naming the field when ``factor`` or ``input_dim`` cannot work."""
    if factor not in SUBSAMPLING_FACTORS:
        raise ConfigError(
            f"{where}.subsampling={factor} is not supported; choose one of "
            f"{SUBSAMPLING_FACTORS} (1 = linear projection, else stride-2 Conv2d layers)"
        )
    needed = minimum_frames(factor)
    if input_dim < needed:
        raise ConfigError(
            f"{where}.input_dim={input_dim} is too small for subsampling={factor}: the Conv2d "
            f"front end also shrinks the feature axis and needs input_dim >= {needed}"
        )


def num_conv_layers(factor: int) -> int:
    return int(math.log2(factor))


def minimum_frames(factor: int) -> int:
    """Fewest input frames that leave one output frame (each conv needs 2 * out + 1 inputs)."""
    return 2 * factor - 1 if factor > 1 else 1


def check_attention_encoder(config: Any, where: str) -> None:
    """The checks the Transformer and Conformer configs share: positive sizes, heads that
    divide d_model, dropout in [0, 1) and a workable subsampling factor."""
    for name in ("input_dim", "d_model", "num_heads", "ffn_dim", "num_layers"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{where}.{name} must be >= 1, got {getattr(config, name)}")
    if config.d_model % config.num_heads:
        raise ConfigError(
            f"{where}.d_model={config.d_model} must be divisible by num_heads={config.num_heads}"
        )
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError(f"{where}.dropout must be in [0, 1), got {config.dropout}")
    check_subsampling(config.subsampling, config.input_dim, where)


@dataclass(frozen=True)
class TransformerEncoderConfig:
    """Sizes of the Transformer encoder.

    ``subsampling``: time reduction of the Conv2d front end (1, 2, 4 or 8);
    ``subsampling_channels``: its conv channels (default ``d_model``).
    Defaults (d=256, 12 layers, ffn 1024) give ~11.3 M parameters.
    """

    input_dim: int = 80
    d_model: int = 256
    num_heads: int = 4
    ffn_dim: int = 1024
    num_layers: int = 12
    dropout: float = 0.1
    subsampling: int = 4
    subsampling_channels: int | None = None

    def __post_init__(self) -> None:
        check_attention_encoder(self, "transformer")


@dataclass(frozen=True)
class ConformerEncoderConfig:
    """Sizes of the Conformer encoder.

    Reference sizes (parameters with the default ``subsampling=4`` Conv2d front end):

    - ``d_model=80, num_heads=4, ffn_dim=256, num_layers=4`` -> ~0.73 M: the small CPU model
      BENCHMARKS.md compares with ``torchaudio.models.Conformer`` (0.53 M without front end).
    - ``d_model=256, num_heads=4, ffn_dim=1024, num_layers=16`` (the defaults) -> ~27.3 M.
    - ``d_model=256, num_heads=4, ffn_dim=1024, num_layers=18`` -> ~30.4 M: the ~30 M GPU
      configuration (Conformer-M width); train it in bf16 autocast, ``position="rotary"``
      is the cheaper attention; relative positions cost a wider query/key (head_dim + d_model).

    ``position``: ``"relative"`` (Transformer-XL relative positions, the Conformer paper's
    choice) or ``"rotary"`` (rotary embeddings on queries and keys; cheaper, fused kernels).
    ``conv_norm``: ``"batch"`` (paper) or ``"layer"`` (independent of batch composition, better
    for small or very unequal batches). ``subsampling``: 1, 2, 4 or 8 (time reduction of the
    Conv2d front end; 1 is a linear projection). ``subsampling_channels`` defaults to d_model.
    """

    input_dim: int = 80
    d_model: int = 256
    num_heads: int = 4
    ffn_dim: int = 1024
    num_layers: int = 16
    dropout: float = 0.1
    subsampling: int = 4
    subsampling_channels: int | None = None
    position: Literal["relative", "rotary"] = "relative"
    conv_kernel_size: int = 31
    conv_norm: Literal["batch", "layer"] = "batch"
    rotary_base: float = 10000.0

    def __post_init__(self) -> None:
        where = "conformer"
        check_attention_encoder(self, where)
        if self.position == "relative" and self.d_model % 2:
            raise ConfigError(
                f"{where}: relative positions use sin/cos channel pairs, so d_model "
                f"(= {self.d_model}) must be even"
            )
        if self.position == "rotary" and (self.d_model // self.num_heads) % 2:
            raise ConfigError(
                f"{where}: rotary positions rotate channel pairs, so d_model / num_heads "
                f"(= {self.d_model // self.num_heads}) must be even"
            )
        if self.conv_kernel_size < 1 or self.conv_kernel_size % 2 == 0:
            raise ConfigError(
                f"{where}.conv_kernel_size must be odd (same-length 'same' padding), got "
                f"{self.conv_kernel_size}"
            )


@dataclass(frozen=True)
class PretrainedAudioEncoderConfig:
    """``path``: local folder of the checkpoint (nothing is downloaded).

    ``freeze_feature_encoder``: keep the convolutional waveform encoder fixed (the usual
    recipe: it is well trained and costly to back-propagate through).
    ``freeze_layers``: also fix everything below transformer layer N (feature encoder,
    feature projection, positional convolution and layers ``0 .. N-1``).
    ``use_attention_mask``: pass the padding mask to the model. ``None`` decides as the
    checkpoints were trained: yes for models with a layer-norm feature encoder
    (``feat_extract_norm="layer"``, e.g. wav2vec2-large-lv60, WavLM Large), no for group-norm
    ones (wav2vec2-base, HuBERT Base), whose documentation asks for zero padding without a mask;
    for those, padding changes the group-norm statistics, so batch composition affects outputs.
    ``normalize_waveform``: ``None`` follows the checkpoint's ``preprocessor_config.json``
    (``do_normalize``; True when the file is missing).
    ``mask_time_prob`` and ``layerdrop``: override the checkpoint's SpecAugment-style time
    masking and layer drop during training (``None`` keeps the checkpoint's values).
    """

    path: Path
    freeze_feature_encoder: bool = True
    freeze_layers: int = 0
    use_attention_mask: bool | None = None
    normalize_waveform: bool | None = None
    mask_time_prob: float | None = None
    layerdrop: float | None = None

    def __post_init__(self) -> None:
        if self.freeze_layers < 0:
            raise ConfigError(
                f"pretrained-audio.freeze_layers must be >= 0, got {self.freeze_layers}"
            )
        for name in ("mask_time_prob", "layerdrop"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ConfigError(f"pretrained-audio.{name} must be in [0, 1), got {value}")
