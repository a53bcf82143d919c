"""The task-agnostic speech kit every speech task builds on (the CTC task in ``voxtext-ctc``,
``whisper-seq2seq`` in ``voxtext-whisper``, a third party's):

- :mod:`~voxtext.speech.config`: the data config and :class:`~voxtext.speech.config.GroupedRun`,
  the fields and checks every speech run config shares;
- :mod:`~voxtext.speech.dataset`: training utterances (the duration filter), the utterance
  dataset and its collate;
- :mod:`~voxtext.speech.groups`: group vocabularies, strategies and the group plan they make
  (sampling weights, group loss, checkpoint metadata);
- :mod:`~voxtext.speech.decoding`: evaluation batches of similar length, inputs as waveforms;
- :mod:`~voxtext.speech.scoring`: the one CER/WER scorer, per group;
- :mod:`~voxtext.speech.evaluation`: the dev evaluator, around any transcribe function.
"""
