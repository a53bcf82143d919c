"""requirements/lock.txt pins every distribution that any pyproject file in the repo names.

The lock is what scripts/install.sh (and so CI) installs with ``--no-deps``; a requirement
missing from it would be missing from the install, and one the lock pins outside the
pyproject's range would mean the lock is stale (refresh: ``bash scripts/lock.sh``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"


def pyprojects() -> list[Path]:
    """The core's and every first-party plugin's pyproject (the copy-me template excluded)."""
    return [ROOT / "pyproject.toml", *sorted(ROOT.glob("plugins/voxtext-*/pyproject.toml"))]


def first_party() -> set[str]:
    return {
        canonicalize_name(tomllib.loads(p.read_text())["project"]["name"]) for p in pyprojects()
    }


def named_requirements() -> list[tuple[str, Requirement]]:
    """(where, requirement) for every dependency and optional dependency of every pyproject."""
    named = []
    for path in pyprojects():
        project = tomllib.loads(path.read_text())["project"]
        where = str(path.relative_to(ROOT))
        lines = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            lines.extend(extra)
        named.extend((where, Requirement(line)) for line in lines)
    return named


def lock_pins() -> dict[str, list[tuple[Version, Requirement]]]:
    """Package name -> its pins in the lock (one per marker branch), hashes checked present."""
    text = LOCK.read_text()
    entries = re.split(r"\n(?=\S)", text)
    pins: dict[str, list[tuple[Version, Requirement]]] = {}
    for entry in entries:
        if entry.startswith("#") or not entry.strip():
            continue
        head = entry.split("\\\n", 1)[0].strip()
        req = Requirement(head)
        (spec,) = req.specifier
        assert spec.operator == "==", f"lock line not an exact pin: {head}"
        assert "--hash=sha256:" in entry, f"lock entry without hashes: {head}"
        pins.setdefault(canonicalize_name(req.name), []).append((Version(spec.version), req))
    return pins


def test_the_lock_pins_every_distribution_a_pyproject_names() -> None:
    pins = lock_pins()
    ours = first_party()
    problems = []
    for where, req in named_requirements():
        name = canonicalize_name(req.name)
        if name in ours:
            continue
        if name not in pins:
            problems.append(f"{where}: {req} is not in requirements/lock.txt")
            continue
        for pinned, lock_req in pins[name]:
            if not req.specifier.contains(pinned, prereleases=True):
                problems.append(f"{where}: {req} but the lock pins {lock_req}")
    assert not problems, "refresh the lock with 'bash scripts/lock.sh':\n" + "\n".join(problems)


def test_the_lock_holds_no_first_party_package_and_the_pair_is_pinned_in_pyproject() -> None:
    pins = lock_pins()
    assert not first_party() & set(pins), "first-party packages are installed editable"
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    exact = {Requirement(line).name: Requirement(line) for line in core}
    for name in ("torch", "torchaudio"):
        (spec,) = exact[name].specifier
        assert spec.operator == "==", f"pyproject must pin {name} exactly (a measured pair)"
        assert [v for v, _ in pins[name]] == [Version(spec.version)]


def test_the_lock_pins_cover_what_they_need() -> None:
    # Every locked distribution's own requirements are in the lock too (the closure), for
    # this interpreter and platform, as far as the installed metadata tells.
    from importlib.metadata import PackageNotFoundError, requires

    pins = lock_pins()
    missing = []
    for name in pins:
        try:
            lines = requires(name) or []
        except PackageNotFoundError:
            continue  # another platform's or Python's branch
        for line in lines:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if canonicalize_name(req.name) not in pins:
                missing.append(f"{name} needs {req}")
    assert not missing, "\n".join(missing)
