"""group-dro: length-normalised group losses, exponentiated-gradient weights with smoothing
and a floor, Σ q_g L_g, and its state."""

from __future__ import annotations

import itertools

import pytest
import torch
from voxtext_groups.group_dro import GroupDroLoss, floored

import voxtext
from voxtext.errors import ConfigError
from voxtext.protocols import GroupContext, GroupLoss

CONTEXT = GroupContext("dialect", ("<unknown>", "north", "south"), 40, None)


def make_loss(**options: float) -> GroupDroLoss:
    loss = voxtext.registry("group_strategies").create("group-dro", options).build_loss(CONTEXT)
    assert isinstance(loss, GroupLoss)
    return loss


def batch(north: float, south: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two utterances per group with per-token losses ``north``/``south`` (lengths 2 and 5)."""
    lengths = torch.tensor([2, 5, 2, 5])
    per_token = torch.tensor([north, north, south, south])
    return per_token * lengths, lengths, torch.tensor([1, 1, 2, 2])


def test_equal_group_losses_give_the_plain_mean_and_keep_the_weights():
    dro = make_loss(step_size=0.5)
    losses, lengths, ids = batch(1.5, 1.5)
    value, stats = dro(losses.requires_grad_(), lengths, ids)
    assert value.item() == pytest.approx((losses / lengths).mean().item())
    assert stats["dro_weight/north"] == pytest.approx(stats["dro_weight/south"])
    value.backward()  # the loss is differentiable in the utterance losses


def test_weights_move_toward_the_group_with_the_higher_loss():
    dro = make_loss(step_size=0.5, smoothing=0.5, floor=0.0)
    history = []
    for _ in range(10):
        losses, lengths, ids = batch(1.0, 3.0)
        value, stats = dro(losses, lengths, ids)
        history.append(stats["dro_weight/south"])
    assert all(b > a for a, b in itertools.pairwise(history))
    assert stats["dro_weight/south"] > 0.95
    assert stats["dro_weight/<unknown>"] == 0.0  # never met
    # the loss is now close to the worst group's
    assert value.item() == pytest.approx(3.0, abs=0.15)
    # losses are divided by target length: long utterances do not decide a group's loss
    assert torch.isclose(dro.averages[1:], torch.tensor([1.0, 3.0], dtype=torch.float64)).all()


def test_the_floor_keeps_every_group_in_play():
    dro = make_loss(step_size=5.0, smoothing=1.0, floor=0.3)
    for _ in range(20):
        dro(*batch(0.1, 9.0))
    assert dro.weights[1].item() == pytest.approx(0.3 / 2)  # two groups met
    assert dro.weights.min().item() >= 0
    assert dro.weights.sum().item() == pytest.approx(1.0)


def test_a_group_absent_from_the_batch_keeps_its_weight():
    dro = make_loss(step_size=1.0, smoothing=1.0, floor=0.0)
    before = dro.weights.clone()
    lengths, ids = torch.tensor([3, 3]), torch.tensor([1, 2])
    dro(torch.tensor([3.0, 9.0]), lengths, ids)
    assert dro.weights[0] == 0  # the unknown group, never met, holds no weight
    assert dro.weights[2] > dro.weights[1] and dro.weights.sum().item() == pytest.approx(1)
    before = dro.weights.clone()
    dro(torch.tensor([3.0, 6.0]), torch.tensor([3, 3]), torch.tensor([1, 1]))
    assert dro.weights[2].item() == pytest.approx(before[2].item())  # south: absent, kept
    dro(torch.tensor([6.0]), torch.tensor([3]), torch.tensor([0]))  # the unknown group joins
    assert dro.weights[0].item() == pytest.approx(0.5 * (before[1] + before[2]).item() / 1.5)


def test_no_update_without_gradients_and_smoothing_averages_losses():
    dro = make_loss(step_size=1.0, smoothing=0.25)
    with torch.no_grad():
        dro(*batch(1.0, 3.0))
    assert torch.equal(dro.weights, torch.full((3,), 1 / 3, dtype=torch.float64))
    assert not dro.seen.any()
    dro(*batch(1.0, 3.0))
    dro(*batch(1.0, 7.0))
    assert dro.averages[2].item() == pytest.approx(0.75 * 3.0 + 0.25 * 7.0)


def test_state_round_trip_and_mismatch():
    dro = make_loss(step_size=0.3)
    for _ in range(3):
        dro(*batch(1.0, 2.0))
    fresh = make_loss(step_size=0.3)
    fresh.load_state_dict(dro.state_dict())
    assert torch.equal(fresh.weights, dro.weights) and torch.equal(fresh.averages, dro.averages)
    value_a, _ = dro(*batch(1.0, 2.0))
    value_b, _ = fresh(*batch(1.0, 2.0))
    assert value_a.item() == value_b.item()
    other = GroupDroLoss(("<unknown>", "east", "west"), fresh.config)
    with pytest.raises(ValueError, match="differ from this run's"):
        other.load_state_dict(dro.state_dict())


def test_floored_is_a_distribution_with_the_minimum():
    result = floored(torch.tensor([0.90, 0.09, 0.01], dtype=torch.float64), 0.1)
    assert result.sum().item() == pytest.approx(1.0)
    assert result.min().item() == pytest.approx(0.1)
    assert result[0].item() == pytest.approx(0.8)


@pytest.mark.parametrize("options", [{"smoothing": 0.0}, {"floor": 2.0}, {"step_size": -1.0}])
def test_bad_settings_are_config_errors(options):
    with pytest.raises(ConfigError):
        voxtext.registry("group_strategies").create("group-dro", options)
