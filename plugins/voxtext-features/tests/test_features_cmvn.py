"""CMVN over valid frames only: per utterance, and global statistics saved with the model."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from voxtext_features.cmvn import CmvnConfig, GlobalCmvn, UtteranceCmvn

import voxtext
from voxtext.errors import DataError, VoxtextError
from voxtext.protocols import FeatureNormalizer


def padded_features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([7, 3, 5])
    features = torch.randn(3, 7, 4, generator=generator) * 3 + torch.arange(4.0) * 10
    features[torch.arange(7) >= lengths.unsqueeze(1)] = 0.0
    return features, lengths


def test_both_conform_and_are_registered():
    registry = voxtext.registry("feature_normalizers")
    utterance, global_ = registry.create("cmvn-utterance"), registry.create("cmvn-global")
    assert isinstance(utterance, FeatureNormalizer) and not utterance.needs_fitting
    assert isinstance(global_, FeatureNormalizer) and global_.needs_fitting


@pytest.mark.parametrize("normalize_variance", [True, False])
def test_utterance_cmvn_uses_each_rows_valid_frames(normalize_variance):
    features, lengths = padded_features()
    out = UtteranceCmvn(CmvnConfig(normalize_variance=normalize_variance))(features, lengths)
    for row, length in enumerate(lengths.tolist()):
        valid = features[row, :length].double().numpy()
        expected = valid - valid.mean(0)
        if normalize_variance:
            expected = expected / valid.std(0)
        np.testing.assert_allclose(out[row, :length].numpy(), expected, rtol=1e-4, atol=1e-5)
        assert not out[row, length:].any()


def test_global_cmvn_fits_accumulates_and_round_trips_through_a_checkpoint():
    first, first_lengths = padded_features(1)
    second, second_lengths = padded_features(2)
    cmvn = GlobalCmvn()
    cmvn.accumulate(first, first_lengths)
    cmvn.accumulate(second, second_lengths)
    frames = np.concatenate(
        [
            f[i, :n].double().numpy()
            for f, ls in ((first, first_lengths), (second, second_lengths))
            for i, n in enumerate(ls.tolist())
        ]
    )
    out = cmvn(first, first_lengths)
    expected = (first[0, :7].double().numpy() - frames.mean(0)) / frames.std(0)
    np.testing.assert_allclose(out[0].numpy(), expected, rtol=1e-4, atol=1e-5)
    assert not out[1, 3:].any()

    buffer = io.BytesIO()
    torch.save(cmvn.state_dict(), buffer)
    buffer.seek(0)
    restored = GlobalCmvn()
    restored.load_state_dict(torch.load(buffer))
    assert torch.equal(restored(second, second_lengths), cmvn(second, second_lengths))


def test_global_cmvn_refuses_to_run_unfitted_and_checks_dims():
    features, lengths = padded_features()
    cmvn = GlobalCmvn()
    with pytest.raises(VoxtextError, match="accumulate"):
        cmvn(features, lengths)
    cmvn.accumulate(features, lengths)
    with pytest.raises(DataError, match="dim 5"):
        cmvn.accumulate(torch.zeros(1, 2, 5), torch.tensor([2]))
    with pytest.raises(DataError, match="dim 4"):
        cmvn(torch.zeros(1, 2, 6), torch.tensor([2]))
    with pytest.raises(DataError, match="missing"):
        GlobalCmvn().load_state_dict({"sum": torch.zeros(4)})


def test_mean_only_global_cmvn_subtracts_the_mean():
    features, lengths = padded_features()
    cmvn = GlobalCmvn(CmvnConfig(normalize_variance=False))
    cmvn.accumulate(features, lengths)
    out = cmvn(features, lengths)
    valid = torch.cat([out[i, :n] for i, n in enumerate(lengths.tolist())])
    torch.testing.assert_close(valid.mean(0), torch.zeros(4), atol=1e-4, rtol=0)
    assert valid.std(0).min() > 2.0  # variance untouched
