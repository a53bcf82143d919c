"""The plugin contract: every hook a voxtext plugin can implement.

Each hook has the shape ``register_<plural>(register)``. The core passes ``register``, a
callable bound to the calling plugin, so every entry knows which plugin (and version) made it:

    register(name, factory, config=None, description="")

- ``name``: the registry name users put in configs (``"fbank"``, ``"conformer"``).
- ``factory``: a class or function. Called as ``factory(config)`` when ``config`` is given,
  else ``factory()``. Heavy imports and weight loading belong inside it, not at module level:
  registering must stay cheap.
- ``config``: a frozen dataclass with defaults for every field a user may leave out.
- ``description``: one line shown by ``voxtext plugins``.

A plugin implements only the hooks it needs, with ``from voxtext import hookimpl``. Hooks only
ever gain arguments; a plugin may accept fewer (pluggy passes only what it asks for).
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

PROJECT = "voxtext"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """The ``register`` callable every hook receives."""

    def __call__(
        self, name: str, factory: Any, config: type | None = None, description: str = ""
    ) -> None: ...


@hookspec
def register_feature_extractors(register: Register) -> None:
    """Feature extractors: waveforms ``(batch, samples)`` + lengths -> features
    ``(batch, frames, feature_dim)`` + frame lengths. See ``protocols.FeatureExtractor``."""


@hookspec
def register_feature_normalizers(register: Register) -> None:
    """Feature normalisers such as CMVN (per utterance, or global statistics fitted on a
    manifest and saved with the model). See ``protocols.FeatureNormalizer``."""


@hookspec
def register_augmentations(register: Register) -> None:
    """Seeded data augmentations on waveforms or features. See ``protocols.Augmentation``."""


@hookspec
def register_text_normalizers(register: Register) -> None:
    """Text normalisers applied to references and hypotheses before scoring or training.
    See ``protocols.TextNormalizer``."""


@hookspec
def register_tokenizers(register: Register) -> None:
    """Tokenizers mapping text to token ids and back. See ``protocols.Tokenizer``."""


@hookspec
def register_encoders(register: Register) -> None:
    """Encoders (acoustic or text): ``(batch, frames, dim)`` + lengths -> ``(batch, frames',
    output_dim)`` + lengths. See ``protocols.Encoder``."""


@hookspec
def register_decoders(register: Register) -> None:
    """Decoders: CTC search over log-probabilities, and output heads for classification or
    tagging. See ``protocols.CTCDecoder`` and ``protocols.Head``."""


@hookspec
def register_fairness_evaluators(register: Register) -> None:
    """Fairness evaluators: per-group metrics with confidence intervals from prediction
    records. See ``protocols.FairnessEvaluator``."""


@hookspec
def register_corpora(register: Register) -> None:
    """Corpora: prepare a data set (synthesise, download from a local folder, convert a
    layout) and return its manifests per split. See ``protocols.Corpus``."""


@hookspec
def register_commands(register: Register) -> None:
    """Extra ``voxtext <name>`` subcommands. The factory returns a ``protocols.Command``."""


@hookspec
def register_group_strategies(register: Register) -> None:
    """Group-aware training strategies (dialect-balanced sampling, dialect conditioning,
    per-dialect adapters, group-DRO losses) that an ASR config switches on by name in its
    ``strategies`` list. See ``protocols.GroupStrategy``."""


@hookspec
def register_recognizers(register: Register) -> None:
    """Recognisers: engines that turn audio into hypotheses on their own (Whisper through
    CTranslate2, a vendor API), so ``voxtext evaluate NAME MANIFEST`` audits them with the same
    predictions file and fairness report as a trained checkpoint. The factory, called with
    its config, returns a ``protocols.Recognizer``; it loads the model, not ``register``."""


@hookspec
def register_tasks(register: Register) -> None:
    """Training tasks: a kind of job ``voxtext train`` and the recipes run by the name a
    config's ``task`` field gives (``asr``, ``whisper-seq2seq``, ``text-classification``).
    The factory, called without a config, returns a ``protocols.Task`` that loads the job's
    config and trains it; ``voxtext evaluate`` then restores a trained run through the task
    its checkpoint names: as a ``protocols.Recognizer`` (a ``SpeechTask``) or by letting the
    task score the data file itself (an ``EvaluatingTask``)."""


@hookspec
def register_voice_activity_detectors(register: Register) -> None:
    """Voice activity detectors (energy- or model-based): where the speech is in a waveform,
    so ``voxtext transcribe`` cuts long audio at silence. See
    ``protocols.VoiceActivityDetector``."""
