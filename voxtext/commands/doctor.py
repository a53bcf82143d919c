"""``voxtext doctor``: does the installed stack work? Versions, imports, devices, plugins.

Checks, in order:

1. every requirement of voxtext and of each installed voxtext plugin is installed at a
   version its specifier allows (torch and torchaudio are pinned as a pair);
2. the stack imports and computes, in a child process, one step at a time: torch,
   torchaudio (``compliance.kaldi`` and ``functional``), transformers, peft, soundfile,
   librosa, then every plugin through the registry. A step that raises is reported with its
   error; one that kills the interpreter (a crashing native library) is named too, because
   the child announces each step before it starts it;
3. CUDA and bf16 availability, and whether espeak-ng (the default corpus's synthesiser) is on
   ``PATH``.

Exit status 0 when nothing failed, 1 otherwise. A missing GPU or espeak-ng is reported, not
a failure: neither is needed to train on CPU from one's own audio.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

HELP = "check the installation: versions, imports of the stack, CUDA/bf16, espeak-ng, plugins"

#: Where a broken install is fixed: the lock holds the versions the suite passed on.
FIX = "reinstall from the lock with 'bash scripts/install.sh' (in a source checkout)"
PROBE_TIMEOUT_S = 600.0


@dataclass
class Check:
    """One line of the report: a check, its outcome and what to do when it failed."""

    name: str
    status: str  # "ok" | "failed" | "note"
    detail: str = ""
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    checks = [*requirement_checks(), *probe_checks(), espeak_check()]
    failed = [c for c in checks if c.status == "failed"]
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for check in checks:
            mark = {"ok": "ok  ", "failed": "FAIL", "note": "note"}[check.status]
            print(f"[{mark}] {check.name}: {check.detail}")
            if check.status == "failed" and check.fix:
                print(f"       fix: {check.fix}")
        print(
            f"\nvoxtext doctor: {len(failed)} problem(s) found"
            if failed
            else "\nvoxtext doctor: the stack works"
        )
    return 1 if failed else 0


# --- 1. versions --------------------------------------------------------------------------


def requirement_checks() -> list[Check]:
    """Each installed voxtext distribution's requirements against what is installed."""
    from packaging.requirements import Requirement

    checks: list[Check] = []
    mismatches: list[str] = []
    pins: list[str] = []
    for dist_name in _voxtext_distributions():
        for line in md.requires(dist_name) or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue  # an extra's requirement or another platform's
            try:
                installed = md.version(req.name)
            except md.PackageNotFoundError:
                mismatches.append(f"{req.name} is not installed ({dist_name} needs {req})")
                continue
            if req.specifier and not req.specifier.contains(installed, prereleases=True):
                mismatches.append(f"{req.name} {installed} is installed, {dist_name} needs {req}")
            if any(spec.operator == "==" for spec in req.specifier):
                pins.append(f"{req.name}=={installed}")
    if mismatches:
        checks.append(
            Check(
                "versions",
                "failed",
                "; ".join(mismatches),
                fix=f"{FIX}, or install the versions named",
            )
        )
    else:
        detail = "every requirement of voxtext and its plugins is met"
        checks.append(Check("versions", "ok", f"{detail} (pinned: {', '.join(sorted(set(pins)))})"))
    return checks


def _voxtext_distributions() -> list[str]:
    """voxtext itself and every installed distribution with a ``voxtext`` entry point."""
    names = {"voxtext"}
    for dist in md.distributions():
        if any(ep.group == "voxtext" for ep in dist.entry_points):
            names.add(dist.metadata["Name"])
    return sorted(names)


# --- 2. imports, in a child process ---------------------------------------------------------


def probe_checks() -> list[Check]:
    """Runs :func:`probe` in a child interpreter and turns its step lines into checks."""
    command = [sys.executable, "-m", "voxtext.commands.doctor"]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        returncode: int | None = None
        stderr = f"the import check ran past {PROBE_TIMEOUT_S:.0f} s and was stopped"
    else:
        stdout, stderr, returncode = proc.stdout, proc.stderr, proc.returncode
    checks: list[Check] = []
    started: str | None = None
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a library printed to stdout; only our lines are JSON objects
        if not isinstance(event, dict) or "step" not in event:
            continue
        if event.get("status") == "start":
            started = event["step"]
            continue
        started = None
        checks.append(
            Check(
                event["step"],
                event["status"],
                event.get("detail", ""),
                fix=event.get("fix", ""),
                data=event.get("data", {}),
            )
        )
    if started is not None or returncode != 0:
        where = f"while importing/checking {started}" if started else "after its last step"
        how = (
            f"was killed by signal {-returncode}"
            if returncode is not None and returncode < 0
            else f"exited with status {returncode}"
            if returncode is not None
            else "timed out"
        )
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        checks.append(
            Check(
                started or "import check",
                "failed",
                f"the child interpreter {how} {where}" + (f":\n{tail}" if tail else ""),
                fix=f"{FIX}; a native crash here usually means mismatched builds",
            )
        )
    return checks


def probe() -> None:
    """The child side: one JSON line when a step starts and one when it ends."""
    for name, step in _steps():
        print(json.dumps({"step": name, "status": "start"}), flush=True)
        try:
            result = step()
        except Exception as exc:
            result = Check(name, "failed", f"{type(exc).__name__}: {exc}", fix=_fix_for(name, exc))
        event = asdict(result)
        del event["name"]
        print(json.dumps({"step": name, **event}), flush=True)


def _steps() -> Iterator[tuple[str, Callable[[], Check]]]:
    yield "torch", _torch
    yield "torchaudio", _torchaudio
    yield "transformers", lambda: _imports("transformers")
    yield "peft", lambda: _imports("peft")
    yield "soundfile", _soundfile
    yield "librosa", _librosa
    yield "devices", _devices
    yield "plugins", _plugins


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _imports(module: str) -> Check:
    start = time.perf_counter()
    __import__(module)
    took = time.perf_counter() - start
    return Check(module, "ok", f"{module} {_version(module)} imports ({took:.1f} s)")


def _torch() -> Check:
    import torch

    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    if float((x @ x.T).sum()) != 83.0:
        raise RuntimeError("a 2x3 matrix product gave a wrong result")
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
    return Check("torch", "ok", f"torch {torch.__version__} ({build} build) imports and computes")


def _torchaudio() -> Check:
    import torch
    import torchaudio
    import torchaudio.compliance.kaldi as kaldi
    import torchaudio.functional as F

    wave = torch.randn(1, 16000)
    feats = kaldi.fbank(wave, num_mel_bins=80, sample_frequency=16000.0)
    resampled = F.resample(wave, 16000, 8000)
    if feats.shape != (98, 80) or resampled.shape != (1, 8000):
        raise RuntimeError(f"fbank gave {tuple(feats.shape)}, resample {tuple(resampled.shape)}")
    return Check(
        "torchaudio",
        "ok",
        f"torchaudio {torchaudio.__version__} with torch {torch.__version__}: "
        "compliance.kaldi.fbank and functional.resample compute",
    )


def _soundfile() -> Check:
    import io

    import numpy as np
    import soundfile as sf

    buffer = io.BytesIO()
    wave = np.linspace(-0.5, 0.5, 1600, dtype=np.float32)
    sf.write(buffer, wave, 16000, format="WAV", subtype="PCM_16")
    buffer.seek(0)
    back, rate = sf.read(buffer, dtype="float32")
    if rate != 16000 or back.shape != wave.shape or float(np.abs(back - wave).max()) > 1e-3:
        raise RuntimeError("a WAV written to memory did not read back the same")
    return Check(
        "soundfile",
        "ok",
        f"soundfile {sf.__version__} (libsndfile {sf.__libsndfile_version__}) writes and reads WAV",
    )


def _librosa() -> Check:
    import numpy as np

    start = time.perf_counter()
    import librosa

    wave = np.sin(np.linspace(0, 2000 * np.pi, 16000)).astype(np.float32)
    mfcc = librosa.feature.mfcc(y=wave, sr=16000, n_mfcc=13)  # loads its lazy submodules
    took = time.perf_counter() - start
    if mfcc.shape[0] != 13 or not np.isfinite(mfcc).all():
        raise RuntimeError(f"mfcc of a sine gave shape {mfcc.shape} or non-finite values")
    return Check("librosa", "ok", f"librosa {_version('librosa')} computes MFCCs ({took:.1f} s)")


def _devices() -> Check:
    import torch

    if not torch.cuda.is_available():
        return Check(
            "devices",
            "note",
            "CUDA is not available: training and decoding run on the CPU "
            f"({torch.get_num_threads()} threads)",
            data={"cuda": False},
        )
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    bf16 = torch.cuda.is_bf16_supported()
    return Check(
        "devices",
        "ok",
        f"CUDA {torch.version.cuda}: {len(names)} GPU(s) ({', '.join(names)}); "
        f"bf16 {'supported' if bf16 else 'not supported'}",
        data={"cuda": True, "gpus": names, "bf16": bf16},
    )


def _plugins() -> Check:
    from voxtext.commands.plugins import collect

    table = collect()
    names = [f"{p['name']} {p['version']}" for p in table["plugins"]]
    if table["failures"]:
        errors = "; ".join(
            f"{f['name']} {f['version']} ({f['stage']}): {f['error']}" for f in table["failures"]
        )
        return Check(
            "plugins",
            "failed",
            errors,
            fix=f"'voxtext plugins' shows the full table; {FIX}",
            data=table,
        )
    if not names:
        return Check("plugins", "note", "no voxtext plugins are installed", data=table)
    return Check("plugins", "ok", f"{len(names)} load: {', '.join(names)}", data=table)


def _fix_for(step: str, exc: Exception) -> str:
    """What to do about a failed step; names the pair when torchaudio and torch disagree."""
    if step == "torchaudio" and isinstance(exc, OSError | ImportError):
        # Its native library links against one torch build ("undefined symbol", "could not
        # load this library"); any other torch makes the import fail.
        return (
            f"torchaudio {_version('torchaudio')}'s native library does not load beside the "
            f"installed torch {_version('torch')}: install the matched pair voxtext pins "
            f"({_pinned('torch')}, {_pinned('torchaudio')}); {FIX}"
        )
    if isinstance(exc, ImportError):
        return f"{step} {_version(step)} does not import: {FIX}"
    return FIX


def _pinned(name: str) -> str:
    from packaging.requirements import Requirement

    for line in md.requires("voxtext") or []:
        req = Requirement(line)
        if req.name == name:
            return str(req)
    return name


# --- 3. espeak-ng ---------------------------------------------------------------------------


def espeak_check() -> Check:
    path = shutil.which("espeak-ng")
    if path is None:
        return Check(
            "espeak-ng",
            "note",
            "not on PATH: the synthetic-accents corpus (the main recipe's default data) "
            "cannot be synthesised; your own audio is unaffected",
            fix="apt-get install espeak-ng (scripts/install.sh does this)",
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return Check("espeak-ng", "ok", out.stdout.strip() or path)


if __name__ == "__main__":  # the child side of probe_checks()
    probe()
