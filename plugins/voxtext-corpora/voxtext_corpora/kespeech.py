"""Convert a KeSpeech layout (Kaldi-style data folders) to voxtext manifests.

KeSpeech ships one Kaldi data folder per subset (``Tasks/ASR/train_phase1``, ``dev_phase1``,
``test`` …), each with ``wav.scp`` (utterance id, audio path), ``text`` (utterance id,
transcript), ``utt2subdialect`` (utterance id, one of Mandarin, Beijing, Southwestern,
Jiang-Huai, Zhongyuan, Ji-Lu, Lan-Yin, Jiao-Liao, Northeastern) and ``utt2spk``. A subset's
utterances become manifest entries with ``groups.dialect`` = the subdialect, ``speaker`` from
``utt2spk``, ``gender`` from an optional ``spk2gender``, and the transcript as written.
Relative audio paths are resolved against the KeSpeech root, then the subset folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from voxtext.data import Utterance
from voxtext_corpora.problems import ProblemList, audio_seconds

REQUIRED_FILES = ("wav.scp", "text", "utt2subdialect")
SUBSET_PARENTS = (".", "Tasks/ASR", "ASR")
GENDERS = {"m": "m", "male": "m", "f": "f", "female": "f"}


def read_kaldi_table(path: Path, problems: ProblemList) -> dict[str, tuple[str, int]]:
    """``key value…`` lines of a Kaldi table as {key: (value, line)}; blank lines skipped."""
    table: dict[str, tuple[str, int]] = {}
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            key, _, value = line.strip().partition(" ")
            if not key:
                continue
            where = f"{path}:{line_number}"
            if not value.strip():
                problems.add(where, f"'{key}' has no value", "write 'KEY VALUE' on each line")
            elif key in table:
                first = table[key][1]
                problems.add(where, f"'{key}' repeats line {first}", "keep one of the lines")
            else:
                table[key] = (value.strip(), line_number)
    return table


def find_subset(root: Path, name: str) -> Path | None:
    """The folder of subset ``name`` under ``root`` (directly or under ``Tasks/ASR``)."""
    for parent in SUBSET_PARENTS:
        folder = root / parent / name
        if (folder / "wav.scp").is_file():
            return folder
    return None


def convert_kespeech(
    root: Path, subsets: Mapping[str, Sequence[str]]
) -> dict[str, list[Utterance]]:
    """Utterances per split, each split the union of its subsets; one DataError for all."""
    problems = ProblemList()
    splits: dict[str, list[Utterance]] = {}
    for split, names in subsets.items():
        folders = [folder for name in names if (folder := find_subset(root, name))]
        if not folders:
            found = sorted(str(p.parent.relative_to(root)) for p in root.rglob("wav.scp"))
            problems.add(
                str(root),
                f"none of the {split} subsets {list(names)} has a folder with wav.scp "
                f"(looked in {', '.join(SUBSET_PARENTS)}; folders with wav.scp: {found})",
                f"set kespeech_{split} to the subset folders to use",
            )
            continue
        splits[split] = []
        for folder in folders:
            splits[split].extend(read_subset(root, folder, problems))
    problems.raise_if_any(f"KeSpeech folder {root}")
    return splits


def read_subset(root: Path, folder: Path, problems: ProblemList) -> list[Utterance]:
    """The utterances of one Kaldi data folder (problems go to ``problems``)."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        problems.add(str(folder), f"lacks {missing}", f"a KeSpeech subset has {REQUIRED_FILES}")
        return []
    wavs = read_kaldi_table(folder / "wav.scp", problems)
    texts = read_kaldi_table(folder / "text", problems)
    dialects = read_kaldi_table(folder / "utt2subdialect", problems)
    speakers = _optional_table(folder / "utt2spk", problems)
    genders = _optional_table(folder / "spk2gender", problems)
    for utt in sorted(set(texts) - set(wavs)):
        problems.add(f"{folder / 'text'}:{texts[utt][1]}", f"'{utt}' is not in wav.scp", "add it")
    utterances = []
    for utt, (audio_field, line) in wavs.items():
        where = f"{folder / 'wav.scp'}:{line}"
        audio = _audio_path(root, folder, audio_field, where, problems)
        text, dialect = texts.get(utt), dialects.get(utt)
        if text is None or dialect is None:
            lacking = "text" if text is None else "utt2subdialect"
            problems.add(where, f"'{utt}' has no line in {lacking}", f"add one to {lacking}")
            continue
        if audio is None:
            continue
        duration = audio_seconds(audio, where, "audio", problems)
        if duration is None:
            continue
        speaker = speakers.get(utt, (None, 0))[0]
        groups = {"dialect": dialect[0], "language": "zh"}
        if speaker is not None and speaker in genders:
            gender = genders[speaker][0].lower()
            groups["gender"] = GENDERS.get(gender, gender)
        utterances.append(Utterance(utt, audio, text[0], duration, speaker, groups))
    return utterances


def _optional_table(path: Path, problems: ProblemList) -> dict[str, tuple[str, int]]:
    return read_kaldi_table(path, problems) if path.is_file() else {}


def _audio_path(
    root: Path, folder: Path, value: str, where: str, problems: ProblemList
) -> Path | None:
    """The audio file a wav.scp value names: an absolute path, or relative to root/folder."""
    if value.endswith("|"):
        problems.add(
            where,
            "is a piped command, which voxtext does not run",
            "write the audio to files (e.g. with sox) and list their paths in wav.scp",
        )
        return None
    path = Path(value)
    if path.is_absolute():
        return path
    candidates = [root / path, folder / path]
    return next((candidate for candidate in candidates if candidate.is_file()), candidates[0])
