"""Benchmark: how many voxtext modules one walk from a manifest to a fairness report imports.

The walk, in one process, through the real commands: ``voxtext train`` of a small
group-aware CTC model (balanced sampling + group-DRO, dev CER per dialect) on a tone corpus,
``voxtext evaluate`` of its run on the same manifest, and ``voxtext report`` of the
predictions by dialect. Printed: the core modules (``voxtext.*``) and the plugin modules
(``voxtext_*``) in ``sys.modules`` at the end, each listed with ``--list``. Fewer modules
means a walk that touches less code; the count is what the task-refactoring issue tracks.

    python benchmarks/import_walk.py [--list]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

CONFIG = """
task = "asr"
out_dir = "{out}"
group_attribute = "dialect"
strategies = [{{ name = "balanced-sampling", alpha = 0.5 }}, {{ name = "group-dro" }}]
[data]
train = "{manifest}"
dev = "{manifest}"
[encoder]
name = "conformer"
d_model = 32
num_heads = 2
ffn_dim = 64
num_layers = 1
[trainer]
max_steps = 2
eval_every_steps = 2
progress = false
"""


def walk(folder: Path) -> None:
    from voxtext import cli
    from voxtext.testing import write_tone_corpus

    manifest = write_tone_corpus(folder / "data", n=8)
    config = folder / "asr.toml"
    config.write_text(CONFIG.format(out=folder / "run", manifest=manifest))
    predictions = folder / "predictions.jsonl"
    steps = [
        ["train", str(config)],
        ["evaluate", str(folder / "run"), str(manifest), "--out", str(predictions)],
        ["report", str(predictions), "--group", "dialect"],
    ]
    for argv in steps:
        with contextlib.redirect_stdout(io.StringIO()):
            if cli.main(argv) != 0:
                raise SystemExit(f"voxtext {' '.join(argv)} failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the modules too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        walk(Path(tmp))
    core = sorted(m for m in sys.modules if m == "voxtext" or m.startswith("voxtext."))
    plugin = sorted(m for m in sys.modules if m.startswith("voxtext_"))
    print(
        f"manifest -> train -> evaluate -> report: {len(core)} core + {len(plugin)} plugin modules"
    )
    if args.list:
        print("\n".join(["core:", *core, "plugins:", *plugin]))


if __name__ == "__main__":
    main()
