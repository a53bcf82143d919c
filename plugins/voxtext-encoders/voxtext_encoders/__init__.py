"""voxtext-encoders: acoustic encoders registered under the ``encoders`` registry.

- ``transformer``: Conv2d subsampling, sinusoidal positions, pre-norm self-attention layers.
- ``conformer``: Conv2d subsampling, macaron Conformer blocks with relative or rotary positions.
- ``pretrained-audio``: a local Wav2Vec2 / HuBERT / WavLM checkpoint taking raw waveforms.

``plugin.py`` holds the hooks; each encoder lives in its own file.
"""
