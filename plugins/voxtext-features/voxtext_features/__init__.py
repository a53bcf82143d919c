"""voxtext-features: the speech front end of voxtext.

Registered components (see ``plugin.py``): feature extractors ``fbank``, ``mfcc`` (Kaldi
compatible, batched, CPU/CUDA), ``librosa-mel``, ``librosa-mfcc``; feature normalisers
``cmvn-utterance``, ``cmvn-global``; augmentations ``spec-augment``, ``speed-perturb``,
``additive-noise``, ``volume``.
"""
