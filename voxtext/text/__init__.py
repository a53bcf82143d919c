"""The text task: fine-tune text encoders for classification (single- and multi-label),
token classification (BIO tagging) and several tasks at once, pretrain compact encoders as
masked LMs, and evaluate — overall, per class and per group.

    from voxtext.text import TextPredictor, load_text_config, train
    result = train(load_text_config(Path("recipes/text_classification/english.toml")))
    TextPredictor.load(config.out_dir).classify(["a great phone", "it broke in a day"])

Components (encoders ``hf-text``/``compact-bert``, heads, ``eda``) come from plugins through
the registry; the training loop is ``voxtext.train``'s.
"""

from __future__ import annotations

from voxtext.text.config import TextConfig, load_text_config
from voxtext.text.inference import TextPredictor, evaluate_file
from voxtext.text.restore import load_text_model
from voxtext.text.training import train

__all__ = [
    "TextConfig",
    "TextPredictor",
    "evaluate_file",
    "load_text_config",
    "load_text_model",
    "train",
]
