"""Group-aware speech training (dialects): the group vocabulary, the registered strategies
of a run and the plan they make for training (:func:`plan_groups`).

A config names a group attribute (``group_attribute = "dialect"``) and a list of strategies
(``strategies = [{ name = "balanced-sampling", alpha = 0.5 }, { name = "group-dro" }]``,
registry kind ``group_strategies``, see ``protocols.GroupStrategy``). Every utterance gets a
group id: 0 is the unknown group (no such attribute, or a value unseen in training), the
training values follow in sorted order. The vocabulary and each strategy's provenance go into
the checkpoint, so inference rebuilds the same model and maps unseen dialects to unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from voxtext.components import ComponentSpec, Provenance, build_component, rebuild_component
from voxtext.errors import ConfigError
from voxtext.protocols import UNKNOWN_GROUP, GroupContext, GroupLoss, GroupModule, GroupStrategy

UNKNOWN_ID = 0


@dataclass(frozen=True)
class GroupVocabulary:
    """Group values of one attribute and their ids; ``values[0]`` is the unknown group."""

    attribute: str
    values: tuple[str, ...]

    @classmethod
    def of_run(
        cls, attribute: str | None, groups: Sequence[Mapping[str, str]]
    ) -> GroupVocabulary | None:
        """:meth:`from_groups` for a run's ``group_attribute``; None for a run without one."""
        return None if attribute is None else cls.from_groups(attribute, groups)

    @classmethod
    def from_groups(cls, attribute: str, groups: Sequence[Mapping[str, str]]) -> GroupVocabulary:
        """The values ``attribute`` takes in ``groups`` (training utterances), sorted."""
        seen = sorted({g[attribute] for g in groups if attribute in g} - {UNKNOWN_GROUP})
        return cls(attribute, (UNKNOWN_GROUP, *seen))

    def id_of(self, groups: Mapping[str, str] | None) -> int:
        """The group id of an utterance's groups (unknown when absent or unseen)."""
        if groups is None or self.attribute not in groups:
            return UNKNOWN_ID
        try:
            return self.values.index(groups[self.attribute])
        except ValueError:
            return UNKNOWN_ID

    def ids_of(self, groups: Sequence[Mapping[str, str] | None]) -> list[int]:
        return [self.id_of(g) for g in groups]

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupVocabulary:
        return cls(str(data["attribute"]), tuple(str(v) for v in data["values"]))


@dataclass
class Strategy:
    """A built strategy with its checkpoint role (``group_strategy<i>``) and provenance."""

    role: str
    component: GroupStrategy
    record: Provenance


def build_strategies(specs: Sequence[ComponentSpec]) -> list[Strategy]:
    """Each ``strategies[i]`` of the config, from the ``group_strategies`` registry."""
    built = []
    for i, spec in enumerate(specs):
        component, record = build_component("group_strategies", spec, where=f"strategies[{i}]")
        built.append(Strategy(f"group_strategy{i}", component, record))
    return built


def group_context(vocabulary: GroupVocabulary, encoder: Any, input_dim: int | None) -> GroupContext:
    return GroupContext(vocabulary.attribute, vocabulary.values, input_dim, encoder)


def build_group_modules(
    strategies: Sequence[Strategy], context: GroupContext
) -> tuple[list[GroupModule], list[str]]:
    """The model extensions, in config order, and the roles of the strategies that made them
    (the checkpoint keeps these roles so inference rebuilds the same modules in order)."""
    modules, roles = [], []
    for strategy in strategies:
        module = strategy.component.build_module(context)
        if module is not None:
            modules.append(module)
            roles.append(strategy.role)
    _check_hidden_rows(modules, [s.record.name for s in strategies])
    return modules, roles


def _check_hidden_rows(modules: Sequence[GroupModule], names: Sequence[str]) -> None:
    """A module that learns only where the group is hidden (a dialect-ID head) gets no rows
    when another module reads the group and training never hides it."""
    hides = max((m.unknown_probability for m in modules), default=0.0) > 0
    reads = any(m.reads_groups for m in modules)
    if reads and not hides and any(getattr(m, "needs_hidden_rows", False) for m in modules):
        raise ConfigError(
            f"strategies ({', '.join(names)}): a module trains only on utterances whose "
            "group the model did not see, but another module reads the group and none hides "
            "it; set unknown_probability > 0 on dialect-conditioning or dialect-adapters"
        )


def rebuild_group_modules(
    records: Mapping[str, Provenance],
    roles: Sequence[str],
    context: GroupContext,
    *,
    source: str,
) -> list[GroupModule]:
    """The model extensions a checkpoint describes (the strategies in ``roles`` only: a
    sampling or loss strategy is not needed to run the model)."""
    modules = []
    for role in roles:
        if role not in records:
            raise ConfigError(f"{source}: metadata lists group module '{role}' with no record")
        strategy = rebuild_component(records[role], source=source)
        module = strategy.build_module(context)
        if module is None:
            raise ConfigError(
                f"{source}: {records[role].name} built a model module in training but none now; "
                f"install the plugin version the checkpoint names ({records[role].version})"
            )
        modules.append(module)
    return modules


def combined_sampling_weights(
    strategies: Sequence[Strategy], group_ids: Sequence[int], context: GroupContext
) -> list[float] | None:
    """The one strategy's per-utterance sampling weights, or ``None`` (natural sampling)."""
    found = [(s, s.component.sampling_weights(group_ids, context)) for s in strategies]
    given = [(s, w) for s, w in found if w is not None]
    if len(given) > 1:
        names = ", ".join(s.record.name for s, _ in given)
        raise ConfigError(f"strategies: {names} all set sampling weights; keep one of them")
    if not given:
        return None
    weights = [float(w) for w in given[0][1]]
    if len(weights) != len(group_ids):
        raise ConfigError(
            f"strategies: {given[0][0].record.name} gave {len(weights)} sampling weights for "
            f"{len(group_ids)} training utterances"
        )
    return weights


def combined_group_loss(strategies: Sequence[Strategy], context: GroupContext) -> GroupLoss | None:
    """The one strategy's group loss, or ``None`` (the plain per-token mean)."""
    found = [(s, s.component.build_loss(context)) for s in strategies]
    given = [(s, loss) for s, loss in found if loss is not None]
    if len(given) > 1:
        names = ", ".join(s.record.name for s, _ in given)
        raise ConfigError(f"strategies: {names} all replace the training loss; keep one of them")
    return given[0][1] if given else None


def group_ids_tensor(ids: Sequence[int]) -> torch.Tensor:
    return torch.tensor(list(ids), dtype=torch.long)


@dataclass
class GroupPlan:
    """What group-aware training changes in a run: the sampling ``weights`` (one per
    training utterance; None: natural sampling), the ``group_loss`` replacing the per-token
    mean (:func:`reduce_per_utterance`), and the roles of the strategies that built model
    modules. An empty plan (no ``vocabulary``) changes nothing."""

    vocabulary: GroupVocabulary | None = None
    weights: list[float] | None = None
    group_loss: GroupLoss | None = None
    module_roles: list[str] = field(default_factory=list)

    @property
    def extra_state(self) -> dict[str, Any]:
        """State the trainer saves and restores with the model (the group loss's weights)."""
        return {"group_loss": self.group_loss} if self.group_loss is not None else {}

    def metadata(self) -> dict[str, Any] | None:
        """The checkpoint's ``groups`` entry: the vocabulary and the module roles."""
        if self.vocabulary is None:
            return None
        return {**self.vocabulary.to_dict(), "module_roles": list(self.module_roles)}


def plan_groups(
    vocabulary: GroupVocabulary | None,
    strategies: Sequence[Strategy],
    context: GroupContext | None,
    group_ids: Sequence[int],
    module_roles: Sequence[str] = (),
) -> GroupPlan:
    """The strategies' plan for training utterances with ``group_ids``, in the model's
    ``context``; ``module_roles``: the strategies whose model modules the model holds."""
    if vocabulary is None:
        return GroupPlan()
    if context is None:
        raise ValueError("a run with a group vocabulary needs the model's group context")
    return GroupPlan(
        vocabulary,
        combined_sampling_weights(strategies, group_ids, context),
        combined_group_loss(strategies, context),
        list(module_roles),
    )


def reduce_per_utterance(
    per_utterance: torch.Tensor,
    target_lengths: torch.Tensor,
    group_ids: torch.Tensor,
    group_loss: GroupLoss | None,
) -> tuple[torch.Tensor, int, dict[str, float]]:
    """A batch's loss sum, its units and stats from float32 per-utterance losses (each summed
    over the utterance's ``target_lengths`` tokens): without ``group_loss`` the plain sum over
    tokens (units: target tokens); with one, its value per utterance (units: utterances).
    Any sequence loss (CTC, attention-decoder cross-entropy) goes through here."""
    if group_loss is None:
        return per_utterance.sum(), int(target_lengths.sum()), {}
    value, stats = group_loss(per_utterance, target_lengths, group_ids)
    units = int(per_utterance.shape[0])
    return value * units, units, dict(stats)
