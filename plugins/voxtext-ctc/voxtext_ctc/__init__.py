"""voxtext-ctc: tokenizers (``char``, ``sentencepiece``) and CTC decoders (``ctc-greedy``,
``ctc-beam``) for voxtext, registered through the ``voxtext`` entry point in ``plugin.py``."""
