"""voxtext-corpora: corpora registered by name for voxtext recipes.

``espeak-dialects`` synthesises a multi-dialect corpus with espeak-ng (English accents,
Mandarin and Cantonese); ``manifest-folder`` serves a user's own corpus from voxtext manifests
or converts a Common Voice or KeSpeech layout into them.
"""
