"""Contract over every registered group strategy (first-party or not): it conforms to
``protocols.GroupStrategy`` with its default config, and what it builds keeps the shapes
the model relies on: weights one per utterance, modules shape-preserving with a scalar
auxiliary loss, a group loss returning a scalar and floats and restoring its own state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import voxtext
from voxtext.protocols import (
    AuxiliaryOutput,
    GroupContext,
    GroupLoss,
    GroupModule,
    GroupStrategy,
)

NAMES = voxtext.registry("group_strategies").names()


class _Encoder(nn.Module):
    """A two-block stand-in with the attributes strategies may read."""

    output_dim = 16
    input_dim = 12

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(16, 16), nn.Linear(16, 16)])
        self.project = nn.Linear(12, 16)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.project(x)
        for layer in self.layers:
            h = layer(h)
        return h, lengths


def context() -> GroupContext:
    return GroupContext("dialect", ("<unknown>", "a", "b", "c"), 12, _Encoder())


def test_the_first_party_strategies_are_registered():
    expected = {"balanced-sampling", "dialect-conditioning", "dialect-id"}
    assert expected | {"dialect-adapters", "group-dro"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_strategy_contract(name):
    torch.manual_seed(0)
    strategy = voxtext.registry("group_strategies").create(name)
    assert isinstance(strategy, GroupStrategy)
    ctx = context()
    group_ids = [1, 1, 2, 3, 0, 1]
    weights = strategy.sampling_weights(group_ids, ctx)
    if weights is not None:
        assert len(weights) == len(group_ids) and min(weights) >= 0 and sum(weights) > 0
    module = strategy.build_module(ctx)
    if module is not None:
        check_module(module, ctx)
    loss = strategy.build_loss(ctx)
    if loss is not None:
        check_loss(loss)


def check_module(module: GroupModule, ctx: GroupContext) -> None:
    assert isinstance(module, GroupModule) and isinstance(module, nn.Module)
    assert 0 <= module.unknown_probability < 1
    ids, lengths = torch.tensor([1, 2, 0]), torch.tensor([5, 3, 4])
    x = torch.randn(3, 5, ctx.input_dim or 1)
    x = module.before_encoder(x, lengths, ids)
    assert x.shape == (3, 5, ctx.input_dim)
    encoded, out_lengths = ctx.encoder(x, lengths)
    encoded = module.after_encoder(encoded, out_lengths, ids)
    assert encoded.shape == (3, 5, ctx.encoder.output_dim)
    auxiliary = module.auxiliary(encoded, out_lengths, ids, torch.ones(3, dtype=torch.bool))
    if auxiliary is not None:
        assert isinstance(auxiliary, AuxiliaryOutput) and auxiliary.loss.ndim == 0
        for numerator, denominator in auxiliary.ratios.values():
            assert 0 <= numerator <= denominator


def check_loss(loss: GroupLoss) -> None:
    assert isinstance(loss, GroupLoss)
    losses = torch.tensor([4.0, 6.0, 9.0], requires_grad=True)
    value, stats = loss(losses, torch.tensor([2, 3, 3]), torch.tensor([1, 1, 2]))
    assert value.ndim == 0 and all(isinstance(v, float) for v in stats.values())
    value.backward()
    assert losses.grad is not None
    state = loss.state_dict()
    loss(torch.tensor([1.0]), torch.tensor([1]), torch.tensor([3]))
    loss.load_state_dict(state)
    assert loss.state_dict() == state
