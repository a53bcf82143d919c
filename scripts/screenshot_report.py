"""Render a voxtext HTML fairness report in headless Chromium and save a PNG screenshot.

    python scripts/screenshot_report.py report.html report.png
    python scripts/screenshot_report.py --demo out/       # build a demo report, then shoot it

Needs Debian's ``chromium`` (``apt-get install -y chromium``; ``scripts/install.sh`` installs
it). Used to check by eye that the report renders (tables, plots, the explanations with their
coloured diffs, warnings) the way a reader will see it. By default the whole page is shot:
Chromium renders into a tall window and the empty space below the page is cropped, so the
PNG's height is the rendered page's height.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit(
        "screenshot_report: chromium not found — install it: "
        "apt-get update && apt-get install -y chromium"
    )


FULL_PAGE_HEIGHT = 16000  # the tallest window shot; a taller page is cut there


def screenshot(html: Path, png: Path, width: int = 1200, height: int | None = None) -> Path:
    """Shoot ``html`` at ``width`` × ``height`` pixels into ``png``; ``height`` None shoots
    the whole page (up to ``FULL_PAGE_HEIGHT``) and crops the empty space below it."""
    png.parent.mkdir(parents=True, exist_ok=True)
    window = height or FULL_PAGE_HEIGHT
    with tempfile.TemporaryDirectory(prefix="voxtext-chromium-") as profile:
        command = [
            find_chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png.absolute()}",
            f"--window-size={width},{window}",
            html.absolute().as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0 or not png.is_file():
        sys.exit(f"screenshot_report: chromium failed ({result.returncode}):\n{result.stderr}")
    if height is None:
        crop_below_content(png)
    return png


def crop_below_content(png: Path, margin: int = 24) -> int:
    """Cut the rows below the last one that differs from the page background; return the
    new height."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    background = pixels[-1, 0]
    rows = np.flatnonzero((pixels != background).any(axis=(1, 2)))
    bottom = min(len(pixels), int(rows[-1]) + 1 + margin) if rows.size else len(pixels)
    Image.fromarray(pixels[:bottom]).save(png)
    return bottom


def write_demo_predictions(folder: Path, seed: int = 0) -> list[Path]:
    """Synthetic predictions for three checkpoints of one system and a second system."""
    sentences = [
        "今天天气很好我们去公园散步",
        "请把窗户打开一点",
        "这个问题我们明天再讨论",
        "火车站怎么走",
        "我想喝一杯热茶",
    ]
    dialects = {"cmn": 0.05, "yue": 0.16, "wuu": 0.30, "nan": 0.22}
    paths = []
    for name, scale in [
        ("ckpt-1000", 1.6),
        ("ckpt-2000", 1.2),
        ("ckpt-3000", 1.0),
        ("dialect-aware", 0.75),
    ]:
        rng, text_rng = random.Random(f"{seed}-{name}"), random.Random(seed)
        lines = []
        for dialect, base in dialects.items():
            for speaker in range(8):
                rate = base * scale * text_rng.uniform(0.6, 1.4)
                gender = "f" if speaker % 2 else "m"
                for utterance in range(15):
                    ref = text_rng.choice(sentences)
                    hyp = "".join(c if rng.random() > rate else rng.choice(["", "错"]) for c in ref)
                    lines.append(
                        json.dumps(
                            {
                                "id": f"{dialect}-{speaker}-{utterance}",
                                "ref": ref,
                                "hyp": hyp,
                                "speaker": f"{dialect}-{speaker}",
                                "groups": {"dialect": dialect, "gender": gender},
                                "duration": round(text_rng.uniform(1.5, 4.0), 2),
                                "synthetic": True,
                            },
                            ensure_ascii=False,
                        )
                    )
        path = folder / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def build_demo_report(folder: Path) -> Path:
    """Write demo predictions under ``folder`` and render them with ``voxtext report``."""
    from voxtext.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    *checkpoints, other = write_demo_predictions(folder)
    html = folder / "report.html"
    code = main(
        [
            "report",
            *map(str, checkpoints),
            "--group",
            "dialect",
            "--group",
            "gender",
            "--intersect",
            "--reference",
            "cmn",
            "--compare",
            str(other),
            "--format",
            "html",
            "--out",
            str(html),
            "--n-boot",
            "1000",
        ]
    )
    if code != 0:
        sys.exit(f"screenshot_report: voxtext report failed with exit code {code}")
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, nargs="?", help="the report to shoot")
    parser.add_argument("png", type=Path, nargs="?", help="where to save the screenshot")
    parser.add_argument(
        "--demo", type=Path, metavar="FOLDER", help="build a demo report in FOLDER and shoot it"
    )
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument(
        "--height", type=int, help="window height in pixels (default: the whole page)"
    )
    args = parser.parse_args(argv)
    if args.demo:
        html = build_demo_report(args.demo)
        png = args.png or args.demo / "report.png"
    elif args.html:
        html, png = args.html, args.png or args.html.with_suffix(".png")
    else:
        parser.error("give HTML [PNG], or --demo FOLDER")
    print(screenshot(html, png, args.width, args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
