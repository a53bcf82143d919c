"""Hooks of voxtext-fairness: evaluators, text normalisers and the ``report`` command.

Only names, factories and configs are registered here; numpy, jiwer and matplotlib are
imported when a component is built or used.
"""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl


def _asr_group_errors(config: Any) -> Any:
    from voxtext_fairness.asr import AsrGroupErrors

    return AsrGroupErrors(config)


def _classification_fairness(config: Any) -> Any:
    from voxtext_fairness.classification import ClassificationFairness

    return ClassificationFairness(config)


def _report_command() -> Any:
    from voxtext_fairness.command import ReportCommand

    return ReportCommand()


@hookimpl
def register_fairness_evaluators(register: Any) -> None:
    from voxtext_fairness.configs import AsrGroupErrorsConfig, ClassificationFairnessConfig

    register(
        "asr-group-errors",
        _asr_group_errors,
        config=AsrGroupErrorsConfig,
        description="per-group CER/WER with speaker-bootstrap CIs, gaps and tests",
    )
    register(
        "classification-fairness",
        _classification_fairness,
        config=ClassificationFairnessConfig,
        description="per-group accuracy, F1, ECE, demographic parity, equalized odds",
    )


@hookimpl
def register_text_normalizers(register: Any) -> None:
    from voxtext_fairness.normalizers import (
        ChineseSimplifiedConfig,
        DefaultNormalizerConfig,
        DefaultTextNormalizer,
        EnglishSpellingConfig,
        IdentityTextNormalizer,
    )

    register(
        "default",
        DefaultTextNormalizer,
        config=DefaultNormalizerConfig,
        description="NFKC, case folding, punctuation removal, whitespace collapse",
    )
    register(
        "english-spelling",
        DefaultTextNormalizer,
        config=EnglishSpellingConfig,
        description="default, then British to American spelling (harbour -> harbor)",
    )
    register(
        "zh-hans",
        DefaultTextNormalizer,
        config=ChineseSimplifiedConfig,
        description="default, then traditional to simplified Chinese (OpenCC t2s)",
    )
    register("none", IdentityTextNormalizer, description="score text exactly as written")


@hookimpl
def register_commands(register: Any) -> None:
    register(
        "report",
        _report_command,
        description="per-group error rates with confidence intervals (md, json, html)",
    )
