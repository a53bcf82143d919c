"""Reading CTranslate2's ``model.bin`` (binary version 6) without CTranslate2.

The layout, as ``ctranslate2/specs/model_spec.py`` ``ModelSpec._serialize`` writes it and
``src/models/model.cc`` reads it (little-endian, ``struct`` native sizes)::

    uint32  binary version (4..6 read here; 6 is current)
    string  spec name ("WhisperSpec")        string = uint16 length incl. NUL, bytes, NUL
    uint32  spec revision (3 for WhisperSpec)
    uint32  number of variables, then for each:
        string  name ("encoder/layer_0/self_attention/linear_0/weight")
        uint8   rank, then rank x uint32 dims
        uint8   dtype id: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16
        uint32  number of bytes, then the raw row-major values
    uint32  number of aliases, then pairs of strings (alias, target variable)

Quantised weights (int8 / int16) come with a ``<name>_scale`` variable (float32; one value per
output row for int8, a single value for int16): the float weight is ``value / scale``.
:func:`dequantize` folds those pairs back into float32 tensors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxtext.errors import ConfigError

SUPPORTED_VERSION = 6
#: Oldest version accepted; the layout above was checked against the version-6 writer only.
MIN_VERSION = 4
#: dtype id -> numpy dtype (bfloat16 is read as raw uint16 and widened to float32).
DTYPES: dict[int, str] = {
    0: "float32",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "float16",
    5: "bfloat16",
}


@dataclass(frozen=True)
class CT2Model:
    """The contents of a ``model.bin``: spec ``name``/``revision``, ``variables`` (name ->
    array, in the file's dtype; bfloat16 already widened to float32) and ``aliases`` (alias ->
    target variable name)."""

    version: int
    name: str
    revision: int
    variables: dict[str, np.ndarray]
    dtypes: dict[str, str]
    aliases: dict[str, str]


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.offset, self.path = data, 0, path

    def unpack(self, fmt: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise ConfigError(f"{self.path}: truncated CTranslate2 model.bin at byte {self.offset}")
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return values

    def string(self) -> str:
        (length,) = self.unpack("<H")
        raw = self.take(length)
        if length == 0 or raw[-1] != 0:
            raise ConfigError(f"{self.path}: malformed string at byte {self.offset - length}")
        return raw[:-1].decode("utf-8")

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ConfigError(f"{self.path}: truncated CTranslate2 model.bin at byte {self.offset}")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def read_model_bin(path: str | Path) -> CT2Model:
    """Parse ``path`` (a ``model.bin`` or the folder holding one) into a :class:`CT2Model`.

    Raises ``ConfigError`` naming the file when it is not a CTranslate2 model."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise ConfigError(f"'{path}' does not exist; expected a CTranslate2 model.bin")
    reader = _Reader(path.read_bytes(), path)
    (version,) = reader.unpack("<I")
    if not MIN_VERSION <= version <= SUPPORTED_VERSION:
        raise ConfigError(
            f"{path} is not a CTranslate2 model.bin this reader supports (binary version "
            f"{version}; expected {MIN_VERSION}..{SUPPORTED_VERSION}, ctranslate2 4.x writes 6)"
        )
    name = reader.string()
    (revision,) = reader.unpack("<I")
    (count,) = reader.unpack("<I")
    variables: dict[str, np.ndarray] = {}
    dtypes: dict[str, str] = {}
    for _ in range(count):
        var_name, array, dtype = _read_variable(reader)
        variables[var_name], dtypes[var_name] = array, dtype
    aliases: dict[str, str] = {}
    if reader.offset < len(reader.data):
        (alias_count,) = reader.unpack("<I")
        for _ in range(alias_count):
            alias = reader.string()
            aliases[alias] = reader.string()
    if reader.offset != len(reader.data):
        raise ConfigError(f"{path}: {len(reader.data) - reader.offset} unexpected trailing bytes")
    return CT2Model(version, name, revision, variables, dtypes, aliases)


def _read_variable(reader: _Reader) -> tuple[str, np.ndarray, str]:
    name = reader.string()
    (rank,) = reader.unpack("<B")
    shape = reader.unpack(f"<{rank}I") if rank else ()
    (type_id,) = reader.unpack("<B")
    if type_id not in DTYPES:
        raise ConfigError(f"{reader.path}: variable '{name}' has unknown dtype id {type_id}")
    dtype = DTYPES[type_id]
    (num_bytes,) = reader.unpack("<I")
    raw = reader.take(num_bytes)
    if dtype == "bfloat16":  # the top 16 bits of a float32
        wide = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        array = wide.view(np.float32)
    else:
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
    expected = int(np.prod(shape)) if shape else 1
    if array.size != expected:
        raise ConfigError(
            f"{reader.path}: variable '{name}' has {array.size} values for shape {shape}"
        )
    return name, array.reshape(shape).copy(), dtype


def dequantize(model: CT2Model) -> dict[str, np.ndarray]:
    """Float32 weights of every non-scalar variable, ``<name>_scale`` pairs folded in
    (int8: one scale per output row, also for conv weights ``(out, in, kernel)``; int16: one
    scale). Aliases are resolved to copies of their target. Scalars (``num_heads``, flags) and
    string variables are left out: see :func:`scalars`."""
    out: dict[str, np.ndarray] = {}
    for name, value in model.variables.items():
        if _is_scale(model, name):
            continue
        if value.ndim == 0:
            continue
        scale = model.variables.get(name + "_scale")
        if value.dtype in (np.int8, np.int16) and scale is not None:
            scale = scale.astype(np.float32)
            shape = (-1,) + (1,) * (value.ndim - 1) if scale.ndim == 1 else ()
            out[name] = value.astype(np.float32) / scale.reshape(shape)
        elif value.dtype in (np.int8, np.int16, np.int32) and value.ndim == 1 and scale is None:
            out[name] = value  # integer vectors (none in Whisper), kept as stored
        else:
            out[name] = value.astype(np.float32)
    for alias, target in model.aliases.items():
        if target in out:
            out[alias] = out[target].copy()
    return out


def scalars(model: CT2Model) -> dict[str, float | int]:
    """The scalar (rank-0) variables: ``encoder/num_heads``, ``decoder/num_heads``, flags
    (int16 weight scales, which :func:`dequantize` consumes, left out)."""
    return {
        name: value.item()
        for name, value in model.variables.items()
        if value.ndim == 0 and not _is_scale(model, name)
    }


def _is_scale(model: CT2Model, name: str) -> bool:
    return name.endswith("_scale") and name[: -len("_scale")] in model.variables


def read_whisper_model_bin(path: str | Path) -> CT2Model:
    """:func:`read_model_bin`, refusing any spec but ``WhisperSpec``."""
    model = read_model_bin(path)
    if model.name != "WhisperSpec":
        raise ConfigError(
            f"{path}: CTranslate2 model of spec '{model.name or 'unknown'}', not a Whisper "
            "model (expected spec 'WhisperSpec')"
        )
    return model
