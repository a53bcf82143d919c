"""The shared pieces the ASR and text stacks (and two plugins) use: length-sorted inference
batches, and which East Asian characters are units of their own."""

from __future__ import annotations

import pytest

from voxtext.data.batching import length_sorted_batches
from voxtext.data.scripts import is_cjk_unit, is_unspaced


def test_batches_are_sorted_by_length_and_cut_by_count_or_padded_size():
    lengths = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert length_sorted_batches(lengths, max_items=2) == [[1, 3], [2, 4], [0]]
    # padded size = count x longest: [1, 2, 3] pads to 9 > 8, so 3 starts a new batch
    assert length_sorted_batches(lengths, max_padded=8.0) == [[1, 3], [2, 4], [0]]
    assert length_sorted_batches(lengths, max_padded=9.0) == [[1, 3, 2], [4], [0]]
    assert length_sorted_batches([20.0, 1.0], max_padded=8.0) == [[1], [0]]  # alone if too long
    assert length_sorted_batches(lengths) == [[1, 3, 2, 4, 0]]
    assert length_sorted_batches([], max_items=3) == []
    with pytest.raises(ValueError, match="max_items must be positive"):
        length_sorted_batches(lengths, max_items=0)


def test_hangul_is_a_unit_but_written_with_spaces():
    for char in "世ア，ｶ":
        assert is_cjk_unit(char), char
    assert is_unspaced("世") and is_unspaced("ア") and is_unspaced("，")
    assert is_cjk_unit("한") and not is_unspaced("한")
    assert is_cjk_unit("ｶ") and not is_unspaced("ｶ")  # half-width forms: as the tokenizer had
    assert not is_cjk_unit("a") and not is_unspaced("a") and not is_cjk_unit("é")
    assert is_cjk_unit("\U00020000") and is_unspaced("\U00020000")  # extension B
