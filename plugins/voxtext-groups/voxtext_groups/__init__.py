"""Group-aware training strategies for voxtext ASR (registry kind ``group_strategies``):

- ``balanced-sampling``: draws utterances so that group g has probability ∝ n_g^alpha;
- ``dialect-conditioning``: a learned dialect embedding added to the encoder input;
- ``dialect-id``: an auxiliary dialect-identification head on the pooled encoder output;
- ``dialect-adapters``: per-dialect residual bottleneck adapters on a shared encoder;
- ``group-dro``: a CTC-aware group-DRO loss with smoothed exponentiated-gradient weights.

An ASR config combines them by name; see ``voxtext.speech.groups`` and
``voxtext.protocols.GroupStrategy``.
"""
