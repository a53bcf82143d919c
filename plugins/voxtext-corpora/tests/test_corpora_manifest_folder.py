"""manifest-folder: a user's voxtext manifests, and Common Voice / KeSpeech layouts converted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile

import voxtext
from voxtext.data import read_manifest
from voxtext.errors import ConfigError, DataError
from voxtext.testing import speech_like, write_speech_manifest

CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment"


def corpus(path: Path, **settings):
    return voxtext.registry("corpora").create("manifest-folder", path=path, **settings)


def write_clip(path: Path, seconds: float, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, speech_like(seconds, 16000, seed=seed), 16000)


def common_voice_folder(root: Path) -> Path:
    """A Common Voice-shaped folder: three TSVs, clips of known lengths, blanks and quotes."""
    rows = {
        "train": [
            ("spk-a", "cv_1.wav", 'She said "hello" to me', "female_feminine", "Scottish English"),
            ("spk-a", "cv_2.wav", "It's a fine day", "female_feminine", "Scottish English"),
            ("spk-b", "cv_3.wav", "the bus is late", "male", ""),
        ],
        "dev": [("spk-c", "cv_4.wav", "good morning", "", "India and South Asia")],
        "test": [("spk-d", "cv_5.wav", "see you soon", "male_masculine", "United States English")],
    }
    for split, lines in rows.items():
        text = [CV_HEADER]
        for number, (client, clip, sentence, gender, accent) in enumerate(lines):
            write_clip(root / "clips" / clip, 0.5 + 0.25 * number, seed=number)
            text.append(f"{client}\t{clip}\t{sentence}\t2\t0\t\t{gender}\t{accent}\ten\t")
        (root / f"{split}.tsv").write_text("\n".join(text) + "\n", encoding="utf-8")
    return root


def kespeech_folder(root: Path) -> Path:
    """A KeSpeech-shaped folder: Tasks/ASR/<subset>/ Kaldi tables, audio under Audio/."""
    subsets = {
        "train_phase1": [
            ("u1", "s1", "Beijing", "今天天气很好", 0.75),
            ("u2", "s2", "Mandarin", "我们走吧", 1.0),
        ],
        "train_phase2": [("u3", "s1", "Southwestern", "好的", 0.5)],
        "dev_phase1": [("u4", "s3", "Ji-Lu", "谢谢你", 0.6)],
        "test": [("u5", "s4", "Zhongyuan", "再见", 0.8), ("u6", "s3", "Ji-Lu", "你好 世界", 1.2)],
    }
    for subset, rows in subsets.items():
        folder = root / "Tasks" / "ASR" / subset
        folder.mkdir(parents=True)
        tables: dict[str, list[str]] = {
            "wav.scp": [],
            "text": [],
            "utt2subdialect": [],
            "utt2spk": [],
        }
        for utt, speaker, dialect, text, seconds in rows:
            write_clip(root / "Audio" / f"{utt}.wav", seconds)
            tables["wav.scp"].append(f"{utt} Audio/{utt}.wav")
            tables["text"].append(f"{utt} {text}")
            tables["utt2subdialect"].append(f"{utt} {dialect}")
            tables["utt2spk"].append(f"{utt} {speaker}")
        for name, lines in tables.items():
            (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "Tasks" / "ASR" / "test" / "spk2gender").write_text("s3 f\ns4 m\n", encoding="utf-8")
    return root


def test_a_voxtext_folder_is_validated_and_used_in_place(tmp_path):
    source = tmp_path / "mine"
    for split in ("train", "dev", "test"):
        manifest = write_speech_manifest(source / split, n=4, groups={"dialect": ["x", "y"]})
        lines = manifest.read_text().replace('"audio": "utt', f'"audio": "{split}/utt')
        (source / f"{split}.jsonl").write_text(lines)
    splits = corpus(source).prepare(tmp_path / "out")
    assert splits.synthetic is False
    assert splits.manifests == {s: source / f"{s}.jsonl" for s in ("train", "dev", "test")}
    assert splits.notes["layout"] == "voxtext"
    assert splits.notes["utterances"]["test"] == {"x": 2, "y": 2}


def test_a_voxtext_folder_with_a_bad_line_is_refused_with_the_line(tmp_path):
    source = tmp_path / "mine"
    for split in ("train", "dev", "test"):
        manifest = write_speech_manifest(source / split, n=2)
        lines = manifest.read_text().replace('"audio": "utt', f'"audio": "{split}/utt')
        (source / f"{split}.jsonl").write_text(lines)
    with (source / "dev.jsonl").open("a") as handle:
        handle.write('{"id": "x", "audio": "nowhere.wav", "text": "t", "duration": 1}\n')
    with pytest.raises(DataError, match=r"dev\.jsonl:3: field 'audio': audio file not found"):
        corpus(source).prepare(tmp_path / "out")
    (source / "test.jsonl").unlink()
    with pytest.raises(DataError, match=r"lacks \['test.jsonl'\]"):
        corpus(source, layout="voxtext").prepare(tmp_path / "out")


def test_common_voice_layout_converts_to_valid_manifests_with_groups(tmp_path):
    source = common_voice_folder(tmp_path / "cv")
    splits = corpus(source).prepare(tmp_path / "out")
    assert splits.notes["layout"] == "common-voice"
    train = read_manifest(splits.manifests["train"])  # validates audio and durations
    assert [u.id for u in train] == ["cv_1", "cv_2", "cv_3"]
    assert train[0].text == 'She said "hello" to me'
    assert train[0].speaker == "spk-a"
    assert train[0].groups == {"dialect": "Scottish English", "gender": "f", "language": "en"}
    assert train[2].groups["dialect"] == "unspecified" and train[2].groups["gender"] == "m"
    assert [round(u.duration, 3) for u in train] == [0.5, 0.75, 1.0]
    dev = read_manifest(splits.manifests["dev"])
    assert dev[0].groups == {
        "dialect": "India and South Asia",
        "gender": "unspecified",
        "language": "en",
    }
    test = read_manifest(splits.manifests["test"])
    assert test[0].groups["dialect"] == "United States English" and test[0].groups["gender"] == "m"


def test_common_voice_conversion_is_reused_until_a_source_file_changes(tmp_path):
    source = common_voice_folder(tmp_path / "cv")
    first = corpus(source).prepare(tmp_path / "out")
    written = first.manifests["train"].stat().st_mtime_ns
    again = corpus(source).prepare(tmp_path / "out")
    assert again.manifests == first.manifests
    assert again.manifests["train"].stat().st_mtime_ns == written
    with (source / "train.tsv").open("a") as handle:
        handle.write("spk-e\tcv_6.wav\tone more\t1\t0\t\t\t\ten\t\n")
    write_clip(source / "clips" / "cv_6.wav", 0.4)
    changed = corpus(source).prepare(tmp_path / "out")
    assert changed.manifests["train"] != first.manifests["train"]
    assert len(read_manifest(changed.manifests["train"])) == 4


def test_common_voice_problems_are_listed_together_with_file_and_line(tmp_path):
    source = common_voice_folder(tmp_path / "cv")
    (source / "clips" / "cv_2.wav").unlink()
    (source / "clips" / "cv_4.wav").write_bytes(b"not audio")
    with (source / "train.tsv").open("a") as handle:
        handle.write("spk-e\t\tno clip\t1\t0\t\t\t\ten\t\n")
    with pytest.raises(DataError) as caught:
        corpus(source).prepare(tmp_path / "out")
    message = str(caught.value)
    assert "3 problems" in message
    assert "train.tsv:3: field 'path': audio file not found" in message
    assert "train.tsv:5: field 'path': is empty" in message
    assert "dev.tsv:2: field 'path':" in message and "cannot read audio" in message


def test_common_voice_dialect_column_must_exist(tmp_path):
    source = common_voice_folder(tmp_path / "cv")
    with pytest.raises(DataError, match="dialect_column 'region' is not a column"):
        corpus(source, dialect_column="region").prepare(tmp_path / "out")
    splits = corpus(source, dialect_column="locale").prepare(tmp_path / "out")
    assert {u.groups["dialect"] for u in read_manifest(splits.manifests["train"])} == {"en"}


def test_kespeech_layout_converts_subsets_into_splits(tmp_path):
    source = kespeech_folder(tmp_path / "KeSpeech")
    splits = corpus(source).prepare(tmp_path / "out")
    assert splits.notes["layout"] == "kespeech"
    train = read_manifest(splits.manifests["train"])
    assert [u.id for u in train] == ["u1", "u2", "u3"]  # train_phase1 then train_phase2
    assert train[0].text == "今天天气很好" and train[0].speaker == "s1"
    assert train[0].groups == {"dialect": "Beijing", "language": "zh"}
    assert [round(u.duration, 3) for u in train] == [0.75, 1.0, 0.5]
    test = read_manifest(splits.manifests["test"])
    assert test[1].text == "你好 世界"  # Kaldi text kept as written, spaces included
    assert [u.groups["gender"] for u in test] == ["m", "f"]
    assert splits.notes["utterances"]["dev"] == {"Ji-Lu": 1}


def test_kespeech_problems_name_the_kaldi_file_and_line(tmp_path):
    source = kespeech_folder(tmp_path / "KeSpeech")
    subset = source / "Tasks" / "ASR" / "test"
    (subset / "wav.scp").write_text("u5 Audio/u5.wav\nu6 sox Audio/u6.wav -t wav - |\nu7 x.wav\n")
    with pytest.raises(DataError) as caught:
        corpus(source).prepare(tmp_path / "out")
    message = str(caught.value)
    assert "wav.scp:2: is a piped command" in message
    assert "wav.scp:3: 'u7' has no line in text" in message
    shutil.rmtree(source / "Tasks" / "ASR" / "dev_phase1")
    with pytest.raises(DataError, match=r"none of the dev subsets \['dev_phase1', 'dev_phase2'\]"):
        corpus(source).prepare(tmp_path / "out")


def test_config_mistakes_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="path is not set"):
        voxtext.registry("corpora").create("manifest-folder")
    with pytest.raises(ConfigError, match="is not a folder"):
        corpus(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="cannot tell the corpus layout"):
        corpus(tmp_path / "empty")
