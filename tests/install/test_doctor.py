"""`voxtext doctor` on the real install and on deliberately broken ones.

Breakage is simulated by putting a directory in front of site-packages on PYTHONPATH: a
package there shadows the installed module, and a ``*.dist-info`` there is what
``importlib.metadata`` reports as installed, so the doctor sees exactly what a mismatched
install would show it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any


def doctor(shadow: Path | None = None) -> tuple[int, dict[str, Any], str]:
    env = dict(os.environ)
    if shadow is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "voxtext.cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def fake_dist(root: Path, name: str, dist_version: str) -> None:
    info = root / f"{name}-{dist_version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {dist_version}\n"
    )


def test_doctor_passes_on_the_installed_stack() -> None:
    code, report, stderr = doctor()
    checks = by_name(report)
    assert code == 0, (report, stderr)
    assert report["ok"] is True
    for step in ("versions", "torch", "torchaudio", "transformers", "peft", "soundfile"):
        assert checks[step]["status"] == "ok", checks[step]
    assert "librosa" in checks and checks["librosa"]["status"] == "ok"
    assert f"torch=={version('torch')}" in checks["versions"]["detail"]
    assert checks["devices"]["status"] in {"ok", "note"}
    loaded = {p["name"] for p in checks["plugins"]["data"]["plugins"]}
    assert {"voxtext-ctc", "voxtext-encoders", "voxtext-features", "voxtext-fairness"} <= loaded
    assert checks["espeak-ng"]["status"] in {"ok", "note"}


def test_doctor_names_a_torchaudio_built_for_another_torch(tmp_path: Path) -> None:
    # What torchaudio 2.11.1 beside torch 2.11.0 looked like: an installed torchaudio of a
    # version the pin does not allow whose native library fails to link.
    fake_dist(tmp_path, "torchaudio", "2.10.0")
    package = tmp_path / "torchaudio"
    package.mkdir()
    (package / "__init__.py").write_text(
        "raise OSError('/site-packages/torchaudio/lib/libtorchaudio.so: undefined symbol: "
        "torch_exception_get_what_without_backtrace')\n"
    )
    code, report, _ = doctor(tmp_path)
    checks = by_name(report)
    assert code == 1 and report["ok"] is False
    versions = checks["versions"]
    assert versions["status"] == "failed"
    assert "torchaudio 2.10.0 is installed" in versions["detail"]
    assert "torchaudio==" in versions["detail"]
    ta = checks["torchaudio"]
    assert ta["status"] == "failed" and "undefined symbol" in ta["detail"]
    assert f"beside the installed torch {version('torch')}" in ta["fix"]
    assert "torchaudio 2.10.0" in ta["fix"] and "scripts/install.sh" in ta["fix"]
    assert checks["torch"]["status"] == "ok"  # the report goes on past the failure
    assert checks["transformers"]["status"] == "ok"


def test_doctor_names_the_step_whose_native_code_kills_the_interpreter(tmp_path: Path) -> None:
    package = tmp_path / "librosa"
    package.mkdir()
    (package / "__init__.py").write_text("import os\nos.abort()\n")
    code, report, _ = doctor(tmp_path)
    checks = by_name(report)
    assert code == 1
    assert checks["librosa"]["status"] == "failed"
    assert "killed by signal" in checks["librosa"]["detail"]
    assert "while importing/checking librosa" in checks["librosa"]["detail"]
    assert checks["soundfile"]["status"] == "ok"  # steps before the crash are kept


def test_doctor_reports_a_package_that_does_not_import(tmp_path: Path) -> None:
    missing = "peft"
    package = tmp_path / missing
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('simulated: no module')\n")
    code, report, _ = doctor(tmp_path)
    check = by_name(report)[missing]
    assert code == 1
    assert check["status"] == "failed" and "simulated: no module" in check["detail"]
    assert f"{missing} {version(missing)} does not import" in check["fix"]


def test_doctor_prints_a_readable_report() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voxtext.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[ok  ] torchaudio: torchaudio " in proc.stdout
    assert proc.stdout.rstrip().endswith("voxtext doctor: the stack works")
