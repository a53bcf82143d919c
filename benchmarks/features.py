"""Speech feature extraction speed: voxtext fbank/mfcc against the usual peers, side by side.

    .venv/bin/python benchmarks/features.py [--repeats 7] [--device cuda]

Workloads: 32 utterances x 10 s as one padded batch, and 1 x 60 s, 16 kHz speech-like audio.
Settings: 80-bin log-mel fbank and 13 MFCC (23 bins), Kaldi defaults (25/10 ms, povey,
snip_edges, pre-emphasis 0.97, DC removal), dither 0. Every contender runs once per repeat, in
turn (alternating), and the table shows the median: x-real-time (seconds of audio per wall
second, higher is better) and voxtext's speed as a multiple of each peer's. torch uses 2
threads (``--threads``); kaldi-native-fbank and librosa are what they are (one thread).
Also printed: the max abs difference of voxtext to kaldi-native-fbank at these settings.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

import voxtext
from voxtext.testing import speech_like

SAMPLE_RATE = 16000
Contender = Callable[[], object]


def make_audio(count: int, seconds: float) -> tuple[torch.Tensor, torch.Tensor]:
    audio = [speech_like(seconds, SAMPLE_RATE, seed=i, f0=90.0 + 7 * i) for i in range(count)]
    return torch.from_numpy(np.stack(audio)), torch.full((count,), audio[0].size)


def knf_options(kind: str):
    import kaldi_native_fbank as knf

    options = knf.MfccOptions() if kind == "mfcc" else knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.mel_opts.num_bins = 23 if kind == "mfcc" else 80
    return options


def knf_features(kind: str, row: np.ndarray) -> np.ndarray:
    """kaldi-native-fbank on int16-scale samples (its convention), frames stacked."""
    import kaldi_native_fbank as knf

    computer = (knf.OnlineMfcc if kind == "mfcc" else knf.OnlineFbank)(knf_options(kind))
    computer.accept_waveform(SAMPLE_RATE, row * 32768.0)
    computer.input_finished()
    return np.stack([computer.get_frame(i) for i in range(computer.num_frames_ready)])


def contenders(kind: str, waveforms: torch.Tensor, lengths: torch.Tensor) -> dict[str, Contender]:
    """name -> callable computing the features of the whole workload; voxtext first."""
    import librosa
    import torchaudio
    import torchaudio.compliance.kaldi as ta_kaldi

    extractor = voxtext.registry("feature_extractors").create(kind)
    scaled = waveforms * 32768.0  # torchaudio's Kaldi functions expect the int16 scale too
    rows = waveforms.numpy()
    ta_kaldi_fn = ta_kaldi.mfcc if kind == "mfcc" else ta_kaldi.fbank
    ta_options = {"num_mel_bins": 23 if kind == "mfcc" else 80, "dither": 0.0, "energy_floor": 0.0}
    melspec = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=80
    )
    table: dict[str, Contender] = {
        f"voxtext {kind} (batched)": lambda: extractor(waveforms, lengths),
        f"torchaudio kaldi.{kind} (loop)": lambda: [
            ta_kaldi_fn(scaled[i : i + 1], **ta_options) for i in range(len(scaled))
        ],
    }
    if kind == "fbank":
        table["torchaudio MelSpectrogram+log (loop)"] = lambda: [
            (melspec(w) + 1e-6).log() for w in waveforms
        ]
        table["torchaudio MelSpectrogram+log (batched)"] = lambda: (melspec(waveforms) + 1e-6).log()
        table["librosa melspectrogram+log"] = lambda: np.log(
            librosa.feature.melspectrogram(
                y=rows, sr=SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=80
            )
            + 1e-6
        )
    else:
        table["librosa mfcc"] = lambda: librosa.feature.mfcc(
            y=rows, sr=SAMPLE_RATE, n_mfcc=13, n_fft=400, hop_length=160, n_mels=23
        )
    table[f"kaldi-native-fbank {kind} (loop)"] = lambda: [knf_features(kind, r) for r in rows]
    return table


def time_alternating(
    table: dict[str, Contender], repeats: int, sync: Callable[[], None] = lambda: None
) -> dict[str, float]:
    """Median wall seconds per contender; each repeat runs every contender once, in turn."""
    for run in table.values():  # warm-up: caches, lazy imports, FFT plans
        run()
    times: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(repeats):
        for name, run in table.items():
            sync()
            start = time.perf_counter()
            run()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def print_table(title: str, medians: dict[str, float], audio_seconds: float) -> None:
    ours = next(iter(medians.values()))
    print(f"\n{title}  ({audio_seconds:.0f} s of audio)")
    print(f"  {'contender':44s} {'median s':>10s} {'x-RT':>10s} {'voxtext/peer':>13s}")
    for name, seconds in medians.items():
        ratio = "" if seconds is ours else f"{seconds / ours:12.2f}x"
        print(f"  {name:44s} {seconds:10.4f} {audio_seconds / seconds:10.0f} {ratio:>13s}")


def parity(kind: str, waveforms: torch.Tensor, lengths: torch.Tensor, rows: int = 4) -> float:
    """Max abs difference of voxtext to kaldi-native-fbank over the first ``rows`` rows."""
    features, _ = voxtext.registry("feature_extractors").create(kind)(
        waveforms[:rows], lengths[:rows]
    )
    return max(
        float(np.abs(features[i].numpy() - knf_features(kind, waveforms[i].numpy())).max())
        for i in range(min(rows, len(waveforms)))
    )


def run_cpu(repeats: int) -> None:
    workloads = {"32 x 10 s": make_audio(32, 10.0), "1 x 60 s": make_audio(1, 60.0)}
    for kind in ("fbank", "mfcc"):
        for label, (waveforms, lengths) in workloads.items():
            medians = time_alternating(contenders(kind, waveforms, lengths), repeats)
            print_table(f"{kind}, {label}", medians, float(lengths.sum()) / SAMPLE_RATE)
            print(f"  max |voxtext - kaldi-native-fbank| = {parity(kind, waveforms, lengths):.2e}")


def run_cuda(repeats: int) -> None:
    import torchaudio

    waveforms, lengths = make_audio(32, 10.0)
    waveforms, lengths = waveforms.cuda(), lengths.cuda()
    melspec = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=80
    ).cuda()
    fbank = voxtext.registry("feature_extractors").create("fbank")
    mfcc = voxtext.registry("feature_extractors").create("mfcc")
    table: dict[str, Contender] = {
        "voxtext fbank (batched, cuda)": lambda: fbank(waveforms, lengths),
        "voxtext mfcc (batched, cuda)": lambda: mfcc(waveforms, lengths),
        "torchaudio MelSpectrogram+log (batched, cuda)": lambda: (melspec(waveforms) + 1e-6).log(),
    }
    medians = time_alternating(table, repeats, sync=torch.cuda.synchronize)
    print_table(
        f"CUDA ({torch.cuda.get_device_name()}), 32 x 10 s",
        medians,
        float(lengths.sum()) / SAMPLE_RATE,
    )
    cpu_features, _ = fbank(waveforms.cpu(), lengths.cpu())
    gpu_features, _ = fbank(waveforms, lengths)
    print(
        f"  max |cuda - cpu| fbank = {float((gpu_features.cpu() - cpu_features).abs().max()):.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of "
        f"{args.repeats} alternating repeats"
    )
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no CUDA device is visible to torch")
        run_cuda(args.repeats)
    else:
        run_cpu(args.repeats)


if __name__ == "__main__":
    main()
