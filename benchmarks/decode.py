"""CTC decoding speed: voxtext ctc-greedy / ctc-beam against pyctcdecode and flashlight.

Milliseconds per utterance at T = 500 frames, beam 10, for a 32-symbol (letters) and a
5,000-symbol (Han characters) vocabulary. Every decoder runs on the same batch, in turn,
``--rounds`` times (alternating, so machine noise hits all alike); the table shows medians
and each peer's time divided by voxtext ctc-beam's (> 1: voxtext is faster).

Inputs imitate a trained CTC model's posteriors: on each frame one symbol (the blank on
``--blank-share`` of the frames, else a random symbol) has probability 0.6-0.99 and the rest
is spread by a softmax over Gaussian noise. voxtext decodes the whole batch in one call;
pyctcdecode decodes one utterance per call (its batch API only adds a process pool);
flashlight gets the batch in one call and loops over it in C++.

Run: ``python benchmarks/decode.py`` (torch.set_num_threads(2), as BENCHMARKS.md asks).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

import voxtext

BEAM = 10


def ctc_like_log_probs(
    batch: int, frames: int, vocab: int, blank_share: float, seed: int, noise: float = 1.5
) -> torch.Tensor:
    """(batch, frames, vocab) log-probs with one peaked symbol per frame (see module doc)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(batch, frames, vocab)).astype(np.float32) * noise
    peak = np.where(
        rng.random((batch, frames)) < blank_share, 0, rng.integers(1, vocab, size=(batch, frames))
    )
    probability = rng.uniform(0.6, 0.99, size=(batch, frames)).astype(np.float32)
    rows, cols = np.meshgrid(np.arange(batch), np.arange(frames), indexing="ij")
    noise[rows, cols, peak] = -np.inf
    rest = (
        torch.log_softmax(torch.from_numpy(noise), dim=-1)
        + torch.from_numpy(np.log1p(-probability))[..., None]
    )
    rest[rows, cols, peak] = torch.from_numpy(np.log(probability))
    return rest


def symbol_table(vocab: int) -> list[str]:
    """Blank, word boundary, then letters (32) or CJK ideographs (5,000)."""
    if vocab <= 40:
        body = [chr(ord("a") + i) for i in range(26)] + ["'", ".", ",", "?"]
    else:
        body = [chr(0x4E00 + i) for i in range(vocab - 2)]
    return ["<blank>", "▁", *body][:vocab]


def build_runners(
    symbols: list[str], log_probs: torch.Tensor, all_tokens: bool
) -> dict[str, Callable[[], list[str]]]:
    batch, frames, _ = log_probs.shape
    lengths = torch.full((batch,), frames)
    decoders = voxtext.registry("decoders")
    greedy = decoders.create("ctc-greedy", symbols=symbols)
    beam = decoders.create("ctc-beam", symbols=symbols, beam_size=BEAM)
    runners: dict[str, Callable[[], list[str]]] = {
        "voxtext ctc-beam (batched)": lambda: [h[0].text for h in beam.decode(log_probs, lengths)],
        "voxtext ctc-greedy (batched)": lambda: [
            h[0].text for h in greedy.decode(log_probs, lengths)
        ],
    }
    from pyctcdecode import build_ctcdecoder

    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    labels = ["", " ", *symbols[2:]]
    pyctc = build_ctcdecoder(labels)
    rows = log_probs.numpy()
    runners["pyctcdecode beam 10 (per utt)"] = lambda: [
        pyctc.decode_beams(row, beam_width=BEAM)[0][0] for row in rows
    ]
    from torchaudio.models.decoder import ctc_decoder

    tokens = ["-", "|", *symbols[2:]]
    flashlight = ctc_decoder(
        lexicon=None,
        tokens=tokens,
        beam_size=BEAM,
        beam_size_token=BEAM,
        blank_token="-",
        sil_token="|",
    )
    runners["flashlight beam 10, token beam 10"] = lambda: _flashlight(flashlight, log_probs)
    if all_tokens:
        every = ctc_decoder(
            lexicon=None, tokens=tokens, beam_size=BEAM, blank_token="-", sil_token="|"
        )
        runners["flashlight beam 10, all tokens"] = lambda: _flashlight(every, log_probs)
    return runners


def _flashlight(decoder: Callable, log_probs: torch.Tensor) -> list[str]:
    return [" ".join(map(str, h[0].tokens.tolist())) for h in decoder(log_probs)]


def measure(
    runners: dict[str, Callable[[], list[str]]], rounds: int, batch: int
) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():  # warm-up (imports, caches) outside the timing
        run()
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1000 / batch)
    return {name: statistics.median(values) for name, values in times.items()}


def agreement(symbols: list[str], log_probs: torch.Tensor) -> float:
    """Share of utterances where ctc-beam's text equals pyctcdecode's best beam."""
    from pyctcdecode import build_ctcdecoder

    beam = voxtext.registry("decoders").create("ctc-beam", symbols=symbols, beam_size=BEAM)
    lengths = torch.full((log_probs.shape[0],), log_probs.shape[1])
    ours = [h[0].text for h in beam.decode(log_probs, lengths)]
    pyctc = build_ctcdecoder(["", " ", *symbols[2:]])
    theirs = [pyctc.decode_beams(row, beam_width=BEAM)[0][0] for row in log_probs.numpy()]
    return sum(a == b for a, b in zip(ours, theirs, strict=True)) / len(ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blank-share", type=float, default=0.6)
    parser.add_argument(
        "--noise",
        type=float,
        default=1.5,
        help="std of the logit noise behind the non-peak mass (more: flatter)",
    )
    parser.add_argument("--vocab", type=int, nargs="+", default=[32, 5000])
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(
        f"T={args.frames} frames, batch {args.batch}, beam {BEAM}, {args.rounds} rounds, "
        f"noise {args.noise}, blank share {args.blank_share}, torch threads "
        f"{torch.get_num_threads()}; ms per utterance (median)"
    )
    for vocab in args.vocab:
        symbols = symbol_table(vocab)
        log_probs = ctc_like_log_probs(
            args.batch, args.frames, vocab, args.blank_share, seed=0, noise=args.noise
        )
        runners = build_runners(symbols, log_probs, all_tokens=vocab <= 64)
        medians = measure(runners, args.rounds, args.batch)
        ours = medians["voxtext ctc-beam (batched)"]
        print(
            f"\nvocabulary {vocab}: ctc-beam = pyctcdecode best path on "
            f"{agreement(symbols, log_probs):.0%} of utterances"
        )
        print(f"{'decoder':<36} {'ms/utt':>9} {'÷ voxtext beam':>15}")
        for name, value in medians.items():
            print(f"{name:<36} {value:>9.2f} {value / ours:>15.2f}")


if __name__ == "__main__":
    main()
