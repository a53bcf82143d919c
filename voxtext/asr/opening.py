"""One way to open a recogniser, shared by ``voxtext transcribe`` and ``voxtext evaluate``.

``MODEL_OR_RECOGNISER`` is either an existing path or a registry name:

- a run or checkpoint folder opens through the task its metadata names
  (``protocols.SpeechTask.recognizer``); a checkpoint of the core's CTC task is restored by
  ``voxtext.asr`` directly, with the decoder options the command line gives;
- a folder ``voxtext export`` wrote opens with onnxruntime (``runtime="onnx"``);
- anything else is a registered recogniser (``register_recognizers``), configured with
  ``key=value`` options.

Options that do not apply to what was opened are refused by name, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxtext.errors import ConfigError, UnknownComponentError


@dataclass(frozen=True)
class OpenOptions:
    """What the command line asks of the recogniser. ``recognizer_options``: ``key=value``
    for a registered recogniser; ``decoder``/``decoder_options``/``runtime``: a CTC
    checkpoint's decoding; ``device``: where a checkpoint runs; ``identify_groups``: a
    group-aware checkpoint chooses each utterance's group from its audio."""

    recognizer_options: Sequence[str] = ()
    decoder: str | None = None
    decoder_options: Sequence[str] = ()
    device: str = "cpu"
    runtime: str = "torch"
    identify_groups: bool = False
    max_batch_seconds: float = 120.0

    def given(self) -> dict[str, bool]:
        """Which options differ from their defaults, by command-line flag."""
        return {
            "--recognizer-set": bool(self.recognizer_options),
            "--decoder": self.decoder is not None,
            "--decoder-set": bool(self.decoder_options),
            "--device": self.device != "cpu",
            "--runtime": self.runtime != "torch",
            "--groups predicted": self.identify_groups,
        }


@dataclass(frozen=True)
class Opened:
    """An opened recogniser (``protocols.Recognizer``), where it came from (JSON-able, for
    the predictions sidecar) and, for a CTC checkpoint, the loaded model behind it."""

    recognizer: Any
    source: Mapping[str, Any] = field(default_factory=dict)
    checkpoint_model: Any | None = None


def open_recognizer(target: str | Path, options: OpenOptions | None = None) -> Opened:
    """The recogniser ``target`` names (see the module docstring)."""
    options = options or OpenOptions()
    path = Path(target)
    if options.recognizer_options and (path.exists() or options.runtime == "onnx"):
        raise ConfigError(
            f"--recognizer-set configures a registered recogniser, but {target} is a "
            "checkpoint path; choose its decoder with --decoder / --decoder-set"
        )
    if options.runtime == "onnx":
        from voxtext.asr.onnx_runtime import load_onnx_recognizer

        return _ctc(load_onnx_recognizer(path, device=options.device), options)
    if not path.exists():
        return _registered(str(target), options)
    from voxtext.tasks import DEFAULT_TASK
    from voxtext.train.metadata import checkpoint_task_name

    task_name = checkpoint_task_name(path)
    if task_name == DEFAULT_TASK:
        from voxtext.asr import load_recognizer

        return _ctc(load_recognizer(path, device=options.device), options)
    return _from_task(path, task_name, options)


def _ctc(model: Any, options: OpenOptions) -> Opened:
    from voxtext.components import ComponentSpec
    from voxtext.config import parse_overrides

    if options.decoder or options.decoder_options:
        name = options.decoder or model.metadata.components["decoder"]["name"]
        model = model.with_decoder(ComponentSpec(name, parse_overrides(options.decoder_options)))
    recognizer = model.as_recognizer(
        options.max_batch_seconds, identify_groups=options.identify_groups
    )
    return Opened(recognizer, {"checkpoint": str(model.checkpoint)}, model)


def _from_task(path: Path, name: str, options: OpenOptions) -> Opened:
    from voxtext.protocols import SpeechTask
    from voxtext.tasks import checkpoint_task

    task = checkpoint_task(name, checkpoint=path)
    if not isinstance(task, SpeechTask):
        raise ConfigError(
            f"{path}: a '{name}' checkpoint is no speech model (its task gives no recognizer); "
            "score it with `voxtext evaluate CHECKPOINT DATA`"
        )
    flags = ("--decoder", "--decoder-set", "--device", "--runtime")
    _refuse(options, str(path), flags, f"a '{name}' checkpoint: it decodes the way it was trained")
    recognizer = task.recognizer(path, identify_groups=options.identify_groups)
    return Opened(recognizer, {"checkpoint": str(path), "task": name})


def _registered(name: str, options: OpenOptions) -> Opened:
    import voxtext
    from voxtext.config import parse_overrides, to_dict

    flags = ("--decoder", "--decoder-set", "--device", "--groups predicted")
    _refuse(options, name, flags, "", registered=True)
    try:
        entry = voxtext.registry("recognizers").get(name)
    except UnknownComponentError as exc:
        raise UnknownComponentError(
            f"'{name}' is not an existing path (no checkpoint or run folder there), nor a "
            f"registered recogniser: {exc}"
        ) from None
    config = entry.make_config(parse_overrides(list(options.recognizer_options)))
    source = {
        "recognizer": entry.name,
        "plugin": entry.plugin.name,
        "plugin_version": entry.plugin.version,
        "config": to_dict(config) if config is not None else {},
    }
    return Opened(entry.create(config), source)


def _refuse(
    options: OpenOptions, target: str, flags: tuple[str, ...], why: str, *, registered: bool = False
) -> None:
    given = options.given()
    used = [flag for flag in flags if given[flag]]
    if not used:
        return
    if registered:
        raise ConfigError(
            f"{', '.join(used)}: for checkpoints only, and '{target}' is no existing path; "
            "configure a registered recogniser with --recognizer-set key=value "
            "(e.g. --recognizer-set device=cuda)"
        )
    raise ConfigError(f"{', '.join(used)}: not for {target}, {why} (CTC checkpoints only)")
