from __future__ import annotations

from dataclasses import dataclass

import pytest

from voxtext.errors import ConfigError, DuplicateComponentError, UnknownComponentError
from voxtext.registry import PluginInfo, Registry

ALPHA = PluginInfo("voxtext-alpha", "1.2.0")
BETA = PluginInfo("acme-beta", "0.3.1")


@dataclass(frozen=True)
class GainConfig:
    gain: float = 1.0
    name: str = "gain"


class Gain:
    def __init__(self, config: GainConfig) -> None:
        self.config = config


def test_register_get_create_and_provenance():
    reg: Registry[Gain] = Registry("augmentation")
    reg.register("gain", Gain, plugin=ALPHA, config=GainConfig, description="scales")
    entry = reg.get("gain")
    assert entry.plugin == ALPHA and entry.description == "scales"
    built = reg.create("gain", {"gain": 2}, name="loud")
    assert built.config == GainConfig(gain=2.0, name="loud")
    assert isinstance(built.config.gain, float)
    assert reg.names() == ["gain"] and "gain" in reg and len(reg) == 1


def test_duplicate_name_names_both_plugins():
    reg: Registry[Gain] = Registry("augmentation")
    reg.register("gain", Gain, plugin=ALPHA, config=GainConfig)
    with pytest.raises(DuplicateComponentError) as info:
        reg.register("gain", Gain, plugin=BETA, config=GainConfig)
    message = str(info.value)
    assert "voxtext-alpha 1.2.0" in message and "acme-beta 0.3.1" in message
    assert "VOXTEXT_DISABLE_PLUGINS=acme-beta" in message


def test_unknown_name_lists_known_and_suggests():
    reg: Registry[Gain] = Registry("feature extractor")
    for name in ("fbank", "mfcc", "librosa-mel"):
        reg.register(name, Gain, plugin=ALPHA, config=GainConfig)
    with pytest.raises(UnknownComponentError) as info:
        reg.get("fbnak")
    message = str(info.value)
    assert "unknown feature extractor 'fbnak'" in message
    assert "Did you mean 'fbank'?" in message
    assert "fbank, librosa-mel, mfcc" in message
    assert isinstance(info.value, KeyError)


def test_unknown_name_mentions_broken_plugins():
    reg: Registry[Gain] = Registry("encoder", broken=lambda: ["plugin x 1.0 could not be imported"])
    with pytest.raises(UnknownComponentError, match="could not be imported"):
        reg.get("conformer")


def test_config_errors_name_the_component_and_field():
    reg: Registry[Gain] = Registry("augmentation")
    reg.register("gain", Gain, plugin=ALPHA, config=GainConfig)
    with pytest.raises(ConfigError) as info:
        reg.create("gain", gian=2.0, name=3)
    message = str(info.value)
    assert "config of 'gain': unknown field 'gian'. Did you mean 'gain'?" in message
    assert "config of 'gain'.name: expected str, got int 3" in message


def test_register_rejects_non_frozen_config_and_bad_factory():
    @dataclass
    class Mutable:
        x: int = 0

    reg: Registry[object] = Registry("encoder")
    with pytest.raises(ConfigError, match="not a frozen dataclass"):
        reg.register("m", Gain, plugin=ALPHA, config=Mutable)
    with pytest.raises(ConfigError, match="not callable"):
        reg.register("n", 3, plugin=ALPHA)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="invalid name"):
        reg.register(" ", Gain, plugin=ALPHA)


def test_component_without_config_refuses_settings():
    reg: Registry[object] = Registry("decoder")
    reg.register("plain", object, plugin=ALPHA)
    assert isinstance(reg.create("plain"), object)
    with pytest.raises(ConfigError, match="takes no configuration"):
        reg.create("plain", beam=3)
