"""Model extensions on a real (tiny) Conformer-CTC: dialect conditioning, per-dialect
adapters and the dialect-ID head: shapes, the unknown fallback, zero-initialised starts."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from voxtext_groups.dialect_id import masked_mean

from voxtext.asr.assembly import assemble
from voxtext.asr.model import CTCModel
from voxtext.components import ComponentSpec
from voxtext.errors import ConfigError
from voxtext.protocols import GroupContext, GroupModule
from voxtext.speech.groups import GroupVocabulary, build_strategies

VOCABULARY = GroupVocabulary("dialect", ("<unknown>", "north", "south", "west"))
ENCODER = {"d_model": 32, "num_heads": 4, "ffn_dim": 64, "num_layers": 2, "subsampling": 4}


def build(*strategies: dict, seed: int = 0) -> CTCModel:
    torch.manual_seed(seed)
    specs = [ComponentSpec.parse(s, where="test") for s in strategies]
    return assemble(
        features=ComponentSpec("fbank", {"num_mel_bins": 40}),
        normalizer=ComponentSpec("cmvn-utterance"),
        encoder=ComponentSpec("conformer", ENCODER),
        augmentations=[],
        vocab_size=7,
        dropout=0.0,
        groups=VOCABULARY,
        strategies=build_strategies(specs),
    ).model.eval()


def shared_copy(model: CTCModel) -> CTCModel:
    """The same front end, encoder and head without any group module."""
    plain = CTCModel(
        features=model.features,
        normalizer=model.normalizer,
        encoder=model.encoder,
        vocab_size=7,
        dropout=0.0,
    )
    plain.head = model.head
    return plain.eval()


@pytest.fixture(scope="module")
def audio() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    waveforms = 0.1 * torch.randn(4, 8000, generator=generator)
    lengths = torch.tensor([8000, 6000, 7000, 4000])
    waveforms[1, 6000:] = 0
    waveforms[2, 7000:] = 0
    waveforms[3, 4000:] = 0
    return waveforms, lengths


GROUP_IDS = torch.tensor([1, 2, 0, 3])
EVERYTHING = (
    {"name": "dialect-conditioning", "embedding_dim": 8},
    {"name": "dialect-adapters", "bottleneck": 8, "placement": "both"},
    {"name": "dialect-id", "weight": 0.5},
)


def test_shapes_and_auxiliary_output(audio):
    model = build(*EVERYTHING)
    assert all(isinstance(m, GroupModule) for m in model.group_modules)
    log_probs, out_lengths, auxiliary = model(*audio, None, GROUP_IDS, return_auxiliary=True)
    plain_log_probs, plain_lengths = shared_copy(model)(*audio)
    assert log_probs.shape == plain_log_probs.shape and log_probs.shape[-1] == 7
    assert torch.equal(out_lengths, plain_lengths)
    assert auxiliary is not None and auxiliary.loss.ndim == 0
    # the conditioned/adapted model reads the groups, so the head may only score rows it
    # did not see the group of: the unknown row, which has no true group either -> none
    assert auxiliary.ratios["dialect_id_acc"] == (0.0, 0.0)
    _, _, hidden = model(*audio, None, GROUP_IDS, return_auxiliary=True, hide_groups=True)
    assert hidden is not None and hidden.ratios["dialect_id_acc"][1] == 3.0


def test_zero_initialised_extensions_leave_the_model_unchanged(audio):
    model = build(*EVERYTHING[:2])
    expected, _ = shared_copy(model)(*audio)
    for ids in (GROUP_IDS, torch.zeros(4, dtype=torch.long), None):
        got, _ = model(*audio, None, ids)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_adapters_change_known_rows_only_and_unknown_is_the_shared_model(audio):
    model = build({"name": "dialect-adapters", "bottleneck": 8, "placement": "both"})
    adapters = model.group_modules[0]
    with torch.no_grad():  # as if trained: every adapter's up-projection moves
        for parameter in adapters.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    shared, _ = shared_copy(model)(*audio)
    adapted, _ = model(*audio, None, GROUP_IDS)
    unknown_row = GROUP_IDS == 0
    torch.testing.assert_close(adapted[unknown_row], shared[unknown_row], rtol=0, atol=1e-6)
    assert (adapted[~unknown_row] - shared[~unknown_row]).abs().max() > 1e-3
    # a row's result does not depend on the other rows' groups
    swapped, _ = model(*audio, None, torch.tensor([1, 3, 0, 2]))
    torch.testing.assert_close(swapped[0], adapted[0], rtol=1e-5, atol=1e-5)
    # the block hooks only act inside the model: the encoder alone is the shared encoder
    features, frames = model.front_end(*audio, None)
    encoded, _ = model.encoder(features, frames)
    assert adapters._group_ids is None and encoded.shape[-1] == 32


def test_conditioning_unknown_fallback_is_its_own_learned_embedding(audio):
    model = build({"name": "dialect-conditioning", "embedding_dim": 8})
    module = model.group_modules[0]
    with torch.no_grad():
        module.projection.weight.normal_()
    by_group = [model(*audio, None, torch.full((4,), g))[0] for g in range(4)]
    for g in range(1, 4):
        assert (by_group[g] - by_group[0]).abs().max() > 1e-3
    # padding frames of the encoder input stay zero
    x = torch.zeros(2, 5, 40)
    out = module.before_encoder(x, torch.tensor([5, 3]), torch.tensor([1, 0]))
    assert out[1, 3:].abs().max() == 0 and out[1, :3].abs().max() > 0


def test_training_hides_groups_at_the_configured_rate():
    model = build({"name": "dialect-conditioning", "unknown_probability": 0.3}).train()
    ids = torch.ones(4000, dtype=torch.long)
    visible = model._hide_groups(ids, torch.Generator().manual_seed(0))
    assert abs((visible == 0).float().mean().item() - 0.3) < 0.03
    assert torch.equal(model.eval()._hide_groups(ids, torch.Generator()), ids)


def test_dialect_id_counts_only_hidden_rows_with_a_known_group():
    model = build({"name": "dialect-id", "weight": 2.0})
    head = model.group_modules[0]
    encoded = torch.randn(4, 6, 32)
    lengths = torch.tensor([6, 6, 3, 6])
    output = head.auxiliary(
        encoded, lengths, torch.tensor([1, 2, 3, 0]), torch.tensor([True, True, False, True])
    )
    assert output.ratios["dialect_id_acc"][1] == 2.0  # row 2 not hidden, row 3 unknown
    logits = head.logits(encoded, lengths)
    expected = 2.0 * nn.functional.cross_entropy(logits[:2], torch.tensor([0, 1]))
    torch.testing.assert_close(output.loss, expected)
    padded = torch.cat([encoded[:1, :3], torch.full((1, 3, 32), 99.0)], dim=1)
    torch.testing.assert_close(masked_mean(padded, torch.tensor([3])), encoded[:1, :3].mean(dim=1))


def test_misconfigurations_are_named():
    with pytest.raises(ConfigError, match="unknown_probability > 0"):
        build(
            {"name": "dialect-adapters", "unknown_probability": 0.0},
            {"name": "dialect-id"},
        )
    with pytest.raises(ConfigError, match="at least 2 values"):
        build_strategies([ComponentSpec("dialect-id")])[0].component.build_module(
            GroupContext("dialect", ("<unknown>", "north"), 40, nn.Identity())
        )
    encoder_without_layers = nn.Linear(4, 4)
    encoder_without_layers.output_dim = 4  # type: ignore[assignment]
    context = GroupContext("dialect", VOCABULARY.values, 4, encoder_without_layers)
    adapters = build_strategies([ComponentSpec("dialect-adapters", {"placement": "layers"})])
    with pytest.raises(ConfigError, match="nn.ModuleList named 'layers'"):
        adapters[0].component.build_module(context)
    conditioning = build_strategies([ComponentSpec("dialect-conditioning")])
    with pytest.raises(ConfigError, match="raw waveforms"):
        conditioning[0].component.build_module(
            GroupContext("dialect", VOCABULARY.values, None, encoder_without_layers)
        )
    with pytest.raises(ConfigError, match="placement"):
        build_strategies([ComponentSpec("dialect-adapters", {"placement": "everywhere"})])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_forward_backward_with_every_extension_and_group_dro(audio):
    from voxtext_groups.configs import GroupDroConfig
    from voxtext_groups.group_dro import GroupDroLoss

    from voxtext.asr.losses import group_aware_loss

    model = build(*EVERYTHING).cuda().train()
    waveforms, lengths = (t.cuda() for t in audio)
    batch = {
        "waveforms": waveforms,
        "lengths": lengths,
        "targets": torch.tensor([1, 2, 3, 1, 2, 3, 4, 5], device="cuda"),
        "target_lengths": torch.tensor([2, 2, 2, 2], device="cuda"),
        "group_ids": GROUP_IDS.cuda(),
    }
    dro = GroupDroLoss(VOCABULARY.values, GroupDroConfig(step_size=0.5))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        output = group_aware_loss(dro)(model, batch, torch.Generator().manual_seed(0))
    assert output.loss_sum.dtype == torch.float32 and torch.isfinite(output.loss_sum)
    output.loss_sum.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    assert "dro_weight/south" in output.stats


@pytest.mark.parametrize("detach", [False, True])
def test_a_detached_dialect_id_head_learns_without_moving_the_encoder(detach):
    from voxtext_groups.configs import DialectIdConfig
    from voxtext_groups.dialect_id import DialectIdHead

    head = DialectIdHead(8, 2, DialectIdConfig(detach=detach))
    encoded = torch.randn(3, 5, 8, requires_grad=True)
    hidden = torch.ones(3, dtype=torch.bool)
    out = head.auxiliary(encoded, torch.tensor([5, 4, 2]), torch.tensor([1, 2, 1]), hidden)
    out.loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    if detach:
        assert encoded.grad is None
    else:
        assert encoded.grad is not None and encoded.grad.abs().sum() > 0
    assert head.predict_groups(encoded, torch.tensor([5, 4, 2])).tolist()[0] in {1, 2}
