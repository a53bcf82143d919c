"""Pieces of the batched Kaldi front end checked against independent definitions."""

from __future__ import annotations

import pytest
import torch
from voxtext_features.kaldi_functional import (
    FrameGeometry,
    banded_blocks,
    kaldi_mel_bank,
    kaldi_window,
)


@pytest.mark.parametrize("groups", [1, 3, 4, 9])
def test_banded_blocks_reproduce_the_dense_matmul(groups):
    bank = kaldi_mel_bank(40, 512, 8000, 20.0, 0.0).t()
    bank[:, 7] = 0.0  # an empty column must not break the split
    x = torch.rand(6, bank.shape[0], dtype=torch.float64)
    blocks = banded_blocks(bank, groups)
    assert len(blocks) == groups
    banded = torch.cat([x[:, r0:r1] @ block for r0, r1, block in blocks], dim=1)
    torch.testing.assert_close(banded, x @ bank)
    if groups > 1:  # the point of it: fewer multiply-adds than the dense matrix
        assert sum(block.numel() for _, _, block in blocks) < bank.numel() / 2


def test_windows_match_their_textbook_definitions():
    torch.testing.assert_close(
        kaldi_window("hamming", 400), torch.hamming_window(400, periodic=False, dtype=torch.float64)
    )
    torch.testing.assert_close(
        kaldi_window("hanning", 400), torch.hann_window(400, periodic=False, dtype=torch.float64)
    )
    torch.testing.assert_close(kaldi_window("povey", 400), kaldi_window("hanning", 400).pow(0.85))
    torch.testing.assert_close(
        kaldi_window("blackman", 400),
        torch.blackman_window(400, periodic=False, dtype=torch.float64),
    )


def test_frame_counts_follow_kaldi():
    snip = FrameGeometry.from_ms(16000, 25.0, 10.0, True, True)
    assert (snip.window_size, snip.window_shift, snip.fft_size) == (400, 160, 512)
    lengths = torch.tensor([0, 399, 400, 559, 560, 16000])
    assert snip.num_frames(lengths).tolist() == [0, 0, 1, 1, 2, 98]
    centred = FrameGeometry.from_ms(16000, 25.0, 10.0, False, False)
    assert centred.fft_size == 400
    assert centred.num_frames(lengths).tolist() == [0, 2, 3, 3, 4, 100]
