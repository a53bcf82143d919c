"""The core names no first-party plugin's component: every registered name of every plugin
under ``plugins/`` is looked for among the core's string literals (docstrings and comments
are documentation and may name them), so a default, a special case or a hard-coded
evaluator cannot creep back in; defaults live in the plugins' tasks and the recipes."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import voxtext
from voxtext.plugins import KINDS

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "voxtext"

#: Task names the core's own libraries implement: ``voxtext.asr`` is the ``asr`` job and
#: ``voxtext.text`` the three text jobs (configs and checkpoints carry these names); the
#: plugins only register them. The text heads of the same names are covered by this too.
CORE_TASKS = frozenset({"asr", "text-classification", "token-classification", "masked-lm"})

#: Registered names that are also ordinary words of an API the core uses, per core file.
COINCIDENCES = {
    ("default", "voxtext/cli.py"): "warnings.simplefilter's action",
    ("char", "voxtext/speech/scoring.py"): "the CER scoring unit",
    ("none", "voxtext/asr/losses.py"): "torch's reduction='none'",
    ("none", "voxtext/text/losses.py"): "torch's reduction='none'",
    ("none", "voxtext/commands/evaluate.py"): "the --groups none choice",
    ("none", "voxtext/commands/transcribe.py"): "the --vad none choice",
    ("default", "voxtext/asr/long_audio.py"): "the role a voice activity detector registers",
}


def first_party_plugins() -> set[str]:
    names = set()
    for pyproject in ROOT.glob("plugins/*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        names.add(project["name"])
    return names


def first_party_names() -> dict[str, str]:
    """Registered name -> ``kind from plugin`` for every first-party component."""
    plugins = first_party_plugins()
    found = {}
    for kind in KINDS:
        registry = voxtext.registry(kind)
        for name in registry.names():
            plugin = registry.get(name).plugin.name
            if plugin in plugins and name not in CORE_TASKS:
                found[name] = f"{kind} from {plugin}"
    return found


def literals(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every string literal of a module that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_first_party_plugins_are_all_found():
    plugins = first_party_plugins()
    assert {"voxtext-ctc", "voxtext-features", "voxtext-text", "voxtext-fairness"} <= plugins
    names = first_party_names()
    assert {"fbank", "ctc-greedy", "sequence-classification", "classification-fairness"} <= set(
        names
    )


def test_no_core_module_names_a_first_party_component():
    names = first_party_names()
    hits = []
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for line, text in literals(path):
            if text in names and (text, relative) not in COINCIDENCES:
                hits.append(f"{relative}:{line}: '{text}' ({names[text]})")
    assert not hits, "the core names plugin components:\n" + "\n".join(hits)


def test_every_coincidence_is_still_there():
    """An allowance whose literal went away is removed, so the list cannot grow stale."""
    for name, relative in COINCIDENCES:
        assert any(text == name for _, text in literals(ROOT / relative)), (name, relative)
