"""Hooks of voxtext-corpora: the corpora it registers. Nothing heavy is imported here."""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl


@hookimpl
def register_corpora(register: Any) -> None:
    from voxtext_corpora import espeak_dialects, manifest_folder

    register(
        "espeak-dialects",
        espeak_dialects.create,
        config=espeak_dialects.EspeakDialectsConfig,
        description="synthetic English-accent / Mandarin+Cantonese speech made with espeak-ng",
    )
    register(
        "manifest-folder",
        manifest_folder.create,
        config=manifest_folder.ManifestFolderConfig,
        description="your own corpus: voxtext manifests, or a Common Voice / KeSpeech layout",
    )
