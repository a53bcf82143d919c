"""Benchmark: an exported ONNX graph in onnxruntime against the same model in PyTorch eager.

Work (BENCHMARKS.md, "Export"): the Conformer-CTC of ``benchmarks/train_step.py`` (the
recipe's size; ``--large`` for 12 layers of d=256) with its 80-bin fbank front end, in eval
mode, exported with ``voxtext.asr.onnx_export`` (the graph ``voxtext export`` writes: front
end + encoder + CTC log-probs). Both runtimes get the same waveforms and both use
``--threads`` intra-op threads; shapes are a single utterance and a padded batch. Runtimes
alternate, ``--repeats`` times of ``--calls`` calls each, after a warm-up call; the table
prints min/median/max milliseconds per call, the real-time factor and the eager/onnxruntime
ratio of medians (above 1: onnxruntime is faster), with the max abs difference of log-probs.

    python benchmarks/export.py [--threads 2] [--repeats 5] [--calls 3] [--large]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import voxtext
from voxtext.testing import speech_like

SAMPLE_RATE = 16000
#: (batch size, seconds per utterance)
SHAPES = ((1, 10.0), (8, 5.0))
LARGE = {"d_model": 256, "num_heads": 4, "ffn_dim": 1024, "num_layers": 12}


def build_model(large: bool) -> torch.nn.Module:
    import train_step

    from voxtext.asr.assembly import assemble
    from voxtext.components import ComponentSpec

    torch.manual_seed(0)
    size = {**train_step.SIZE, **(LARGE if large else {})}
    assembled = assemble(
        features=ComponentSpec("fbank", {"num_mel_bins": 80}),
        normalizer=None,
        encoder=ComponentSpec("conformer", size),
        augmentations=[],
        vocab_size=train_step.VOCAB,
        dropout=0.1,
    )
    return assembled.model.eval()


def export(model: torch.nn.Module, folder: Path) -> Path:
    from voxtext.asr.onnx_export import (
        MODEL_FILE,
        OPSET,
        LogProbGraph,
        check_batch,
        run_exporter,
        traceable,
    )

    graph = LogProbGraph(model, traceable(model)).eval()
    waveforms, lengths = check_batch(SAMPLE_RATE)
    with torch.no_grad():
        model(waveforms, lengths)
    path = folder / MODEL_FILE
    run_exporter(graph, waveforms, lengths, path, OPSET)
    return path


def batch(size: int, seconds: float) -> tuple[torch.Tensor, torch.Tensor]:
    audio = [speech_like(seconds, SAMPLE_RATE, seed=i, f0=90.0 + 7 * i) for i in range(size)]
    waveforms = torch.stack([torch.from_numpy(a) for a in audio]).float()
    lengths = torch.full((size,), waveforms.shape[1], dtype=torch.int64)
    # a padded batch: the later rows are shorter, as in a length-sorted batch
    for row in range(1, size):
        lengths[row] -= row * SAMPLE_RATE // 10
        waveforms[row, int(lengths[row]) :] = 0.0
    return waveforms, lengths


def time_calls(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="12 layers of d=256")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from voxtext.asr.onnx_export import valid_max_abs_diff
    from voxtext.asr.onnx_runtime import OnnxCTCModel

    model = build_model(args.large)
    parameters = sum(p.numel() for p in model.parameters())
    with tempfile.TemporaryDirectory() as tmp:
        session = OnnxCTCModel(export(model, Path(tmp)), threads=args.threads)
        load_before = os.getloadavg()[0]
        rows = []
        for size, seconds in SHAPES:
            waveforms, lengths = batch(size, seconds)
            with torch.inference_mode():
                expected, out_lengths = model(waveforms, lengths)
            got, _ = session(waveforms, lengths)
            diff = valid_max_abs_diff(expected, got, out_lengths)

            def eager(w: torch.Tensor = waveforms, n: torch.Tensor = lengths) -> object:
                with torch.inference_mode():
                    return model(w, n)

            def onnx(w: torch.Tensor = waveforms, n: torch.Tensor = lengths) -> object:
                return session(w, n)

            contenders = {"torch eager": eager, "onnxruntime": onnx}
            times: dict[str, list[float]] = {name: [] for name in contenders}
            for call in contenders.values():
                call()  # warm-up
            for _ in range(args.repeats):
                for name, call in contenders.items():
                    times[name].append(time_calls(call, args.calls))
            audio_seconds = float(lengths.sum()) / SAMPLE_RATE
            rows.append((size, seconds, times, audio_seconds, diff))
        load_after = os.getloadavg()[0]
    print(
        f"Conformer-CTC {parameters / 1e6:.1f} M parameters, fbank front end, "
        f"{args.threads} threads, torch {torch.__version__}, {args.repeats} alternating "
        f"repeats x {args.calls} calls; load average {load_before:.2f} before, "
        f"{load_after:.2f} after (voxtext {voxtext.__version__})"
    )
    print(
        f"{'batch':>5} {'seconds':>7}  {'runtime':<12}{'min ms':>8}{'median':>8}{'max':>8}"
        f"{'x real time':>12}{'eager/ort':>10}{'max|diff|':>10}"
    )
    for size, seconds, times, audio_seconds, diff in rows:
        eager_median = statistics.median(times["torch eager"])
        for name, runs in times.items():
            median = statistics.median(runs)
            line = (
                f"{size:>5} {seconds:>7.1f}  {name:<12}{min(runs) * 1e3:>8.1f}"
                f"{median * 1e3:>8.1f}{max(runs) * 1e3:>8.1f}{audio_seconds / median:>12.0f}"
            )
            if name == "onnxruntime":
                line += f"{eager_median / median:>10.2f}{diff:>10.2g}"
            print(line)


if __name__ == "__main__":
    main()
