"""Text heads: shapes, padding never leaks into pooling, rows equal single items, masked-LM
weight tying and masked-position logits, config errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from voxtext_text.head_configs import MaskedLMHeadConfig, SequenceHeadConfig, TokenHeadConfig
from voxtext_text.heads import (
    MaskedLMHead,
    SequenceClassificationHead,
    TokenClassificationHead,
    mean_pool,
)

import voxtext
from voxtext.errors import ConfigError
from voxtext.protocols import Head

torch.set_num_threads(2)
DIM, LABELS, VOCAB = 12, 4, 30
LENGTHS = torch.tensor([7, 3, 5])


def batch_with_junk(junk: float = float("nan")) -> tuple[torch.Tensor, torch.Tensor]:
    """Three rows of different lengths; padding holds ``junk`` to expose any leak."""
    x = torch.randn(3, 7, DIM, generator=torch.Generator().manual_seed(0))
    padding = torch.arange(7)[None, :] >= LENGTHS[:, None]
    return x.masked_fill(padding[:, :, None], junk), LENGTHS.clone()


def sequence_head(**settings) -> SequenceClassificationHead:
    torch.manual_seed(0)
    config = SequenceHeadConfig(input_dim=DIM, num_labels=LABELS, **settings)
    return SequenceClassificationHead(config).eval()


def test_heads_are_registered_and_conform():
    decoders = voxtext.registry("decoders")
    for name, level in [
        ("sequence-classification", "sequence"),
        ("token-classification", "token"),
        ("masked-lm", "token"),
    ]:
        head = decoders.create(name, input_dim=DIM, num_labels=LABELS)
        assert isinstance(head, nn.Module) and isinstance(head, Head)
        assert head.level == level and head.num_labels == LABELS


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("hidden_dim", [None, 6])
def test_sequence_head_shape_and_padding_never_leaks(pooling, hidden_dim):
    head = sequence_head(pooling=pooling, hidden_dim=hidden_dim)
    x, lengths = batch_with_junk(float("nan"))
    with torch.no_grad():
        logits = head(x, lengths)
        clean = head(torch.nan_to_num(x, nan=0.0), lengths)
        other_junk = head(batch_with_junk(1e6)[0], lengths)
    assert logits.shape == (3, LABELS)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(logits, clean)
    torch.testing.assert_close(logits, other_junk)
    assert (head.pooler is not None) == (hidden_dim is not None)


def test_mean_pooling_averages_only_valid_positions():
    x, lengths = batch_with_junk(123.0)
    pooled = mean_pool(x, lengths)
    for row, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(pooled[row], x[row, :length].mean(dim=0))
    zero_length = mean_pool(x[:1], torch.tensor([0]))
    assert torch.equal(zero_length, torch.zeros(1, DIM))


def test_cls_pooling_reads_only_the_first_position():
    head = sequence_head(pooling="cls")
    x, lengths = batch_with_junk(0.0)
    changed = x.clone()
    changed[:, 1:] += 5.0
    with torch.no_grad():
        torch.testing.assert_close(head(x, lengths), head(changed, lengths))
        expected = head.classifier(x[:, 0])
        torch.testing.assert_close(head(x, lengths), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda: sequence_head(pooling="mean", hidden_dim=8),
        lambda: sequence_head(pooling="cls"),
        lambda: TokenClassificationHead(TokenHeadConfig(input_dim=DIM, num_labels=LABELS)),
        lambda: MaskedLMHead(MaskedLMHeadConfig(input_dim=DIM, num_labels=VOCAB)),
    ],
    ids=["sequence-mean", "sequence-cls", "token", "masked-lm"],
)
def test_batch_row_equals_the_item_alone(make):
    head = make().eval()
    x, lengths = batch_with_junk(float("nan"))
    with torch.no_grad():
        batched = head(x, lengths)
        for row, length in enumerate(lengths.tolist()):
            alone = head(x[row : row + 1, :length], lengths[row : row + 1])
            if head.level == "sequence":
                torch.testing.assert_close(batched[row], alone[0])
            else:
                assert alone.shape == (1, length, head.num_labels)
                torch.testing.assert_close(batched[row, :length], alone[0])


def test_token_head_shape_and_dropout_only_in_training():
    head = TokenClassificationHead(TokenHeadConfig(input_dim=DIM, num_labels=LABELS, dropout=0.5))
    x, lengths = batch_with_junk(0.0)
    assert head.eval()(x, lengths).shape == (3, 7, LABELS)
    torch.testing.assert_close(head(x, lengths), head(x, lengths))
    head.train()
    torch.manual_seed(1)
    assert not torch.equal(head(x, lengths), head(x, lengths))


def masked_lm() -> MaskedLMHead:
    torch.manual_seed(0)
    return MaskedLMHead(MaskedLMHeadConfig(input_dim=DIM, num_labels=VOCAB))


def test_masked_lm_is_berts_transform_then_decoder():
    head = masked_lm().eval()
    x, lengths = batch_with_junk(0.0)
    logits = head(x, lengths)
    assert logits.shape == (3, 7, VOCAB)
    hidden = nn.functional.layer_norm(
        nn.functional.gelu(x @ head.dense.weight.T + head.dense.bias),
        (DIM,),
        head.layer_norm.weight,
        head.layer_norm.bias,
        eps=1e-12,
    )
    torch.testing.assert_close(logits, hidden @ head.decoder.weight.T + head.decoder.bias)


def test_tie_to_shares_storage_and_gradients_reach_the_embedding():
    head = masked_lm()
    embedding = nn.Embedding(VOCAB, DIM)
    assert head.tied_parameters() == ()
    head.tie_to(embedding)
    assert head.tied_parameters() == ("decoder.weight",)
    assert head.decoder.weight is embedding.weight
    assert head.decoder.weight.data_ptr() == embedding.weight.data_ptr()
    with torch.no_grad():
        embedding.weight[3].fill_(0.25)  # an update through one name is seen through the other
    assert torch.equal(head.decoder.weight[3], torch.full((DIM,), 0.25))
    model = nn.ModuleDict({"embedding": embedding, "head": head})
    assert sum(p is embedding.weight for p in model.parameters()) == 1  # counted once
    ids = torch.tensor([[1, 2, 3, 4]])
    logits = head(embedding(ids), torch.tensor([4]))
    nn.functional.cross_entropy(logits.view(-1, VOCAB), torch.tensor([5, 6, 7, 8])).backward()
    grad = embedding.weight.grad
    assert grad is not None
    # Rows 5..8 are only decoder targets (never looked up): their gradient comes from the
    # tied decoder, proving the head's use reaches the shared table.
    assert grad[5:9].abs().sum() > 0
    assert bool(grad[10:].abs().sum() > 0)  # the softmax pushes every non-target row down


def test_tie_to_rejects_a_mismatched_table():
    head = masked_lm()
    with pytest.raises(ConfigError, match=r"num_labels=31 .* input_dim=12"):
        head.tie_to(nn.Embedding(VOCAB + 1, DIM))
    with pytest.raises(ConfigError, match="input_dim=8"):
        head.tie_to(nn.Embedding(VOCAB, 8))
    with pytest.raises(TypeError, match="nn.Embedding"):
        head.tie_to(nn.Linear(DIM, VOCAB))


def test_positions_give_the_full_logits_at_those_positions():
    head = masked_lm().eval()
    x, lengths = batch_with_junk(0.0)
    positions = torch.zeros(3, 7, dtype=torch.bool)
    positions[0, [1, 4]] = True
    positions[2, 0] = True
    selected = head(x, lengths, positions=positions)
    assert selected.shape == (3, VOCAB)
    torch.testing.assert_close(selected, head(x, lengths)[positions])
    none = head(x, lengths, positions=torch.zeros(3, 7, dtype=torch.bool))
    assert none.shape == (0, VOCAB)
    with pytest.raises(ValueError, match="bool mask of shape"):
        head(x, lengths, positions=positions.long())
    with pytest.raises(ValueError, match="bool mask of shape"):
        head(x, lengths, positions=positions[:, :5])


def test_positions_gradients_flow_only_from_selected_positions():
    head = masked_lm()
    x, lengths = batch_with_junk(0.0)
    x.requires_grad_(True)
    positions = torch.zeros(3, 7, dtype=torch.bool)
    positions[1, 2] = True
    head(x, lengths, positions=positions).sum().backward()
    assert x.grad is not None
    assert x.grad[1, 2].abs().sum() > 0
    assert x.grad[~positions].abs().max() == 0


def test_wrong_input_width_is_a_clear_error():
    head = sequence_head()
    with pytest.raises(ValueError, match="input_dim must equal the encoder's output_dim"):
        head(torch.zeros(2, 4, DIM + 1), torch.tensor([4, 2]))
    with pytest.raises(ValueError, match=r"lengths of shape \(2,\)"):
        head(torch.zeros(2, 4, DIM), torch.tensor([4]))


@pytest.mark.parametrize(
    ("head_type", "config_type", "where", "label_hint"),
    [
        (SequenceClassificationHead, SequenceHeadConfig, "sequence-classification", "labels"),
        (TokenClassificationHead, TokenHeadConfig, "token-classification", "labels"),
        (MaskedLMHead, MaskedLMHeadConfig, "masked-lm", "vocabulary size"),
    ],
)
def test_unset_sizes_say_the_task_sets_them(head_type, config_type, where, label_hint):
    unset = config_type()  # a config may be made before the task knows the sizes
    assert unset.input_dim == 0 and unset.num_labels == 0
    with pytest.raises(ConfigError, match=rf"{where}\.input_dim is 0: it is set by the task"):
        head_type(unset)
    with pytest.raises(ConfigError, match=rf"{where}\.num_labels is 0: .*{label_hint}"):
        head_type(dataclasses.replace(unset, input_dim=DIM))
    with pytest.raises(ConfigError, match=rf"{where}\.num_labels must be a positive integer"):
        config_type(input_dim=DIM, num_labels=-1)
    with pytest.raises(ConfigError, match=rf"{where}\.input_dim must be a positive integer"):
        config_type(input_dim=2.5, num_labels=3)


def test_config_field_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"sequence-classification\.pooling='max' is unknown"):
        SequenceHeadConfig(pooling="max")
    with pytest.raises(ConfigError, match=r"sequence-classification\.hidden_dim"):
        SequenceHeadConfig(hidden_dim=0)
    with pytest.raises(ConfigError, match=r"sequence-classification\.dropout"):
        SequenceHeadConfig(dropout=1.0)
    with pytest.raises(ConfigError, match=r"token-classification\.dropout"):
        TokenHeadConfig(dropout=-0.1)
    with pytest.raises(ConfigError, match=r"masked-lm\.layer_norm_eps"):
        MaskedLMHeadConfig(layer_norm_eps=0.0)


def test_registry_rejects_unknown_pooling_through_the_literal():
    with pytest.raises(ConfigError, match="pooling"):
        voxtext.registry("decoders").create(
            "sequence-classification", input_dim=DIM, num_labels=2, pooling="max"
        )
