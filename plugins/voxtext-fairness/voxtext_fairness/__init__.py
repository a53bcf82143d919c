"""voxtext-fairness: per-group error rates with confidence intervals, gap tests and reports.

Use it through the registry (recipes never import this package)::

    evaluator = voxtext.registry("fairness_evaluators").create("asr-group-errors", n_boot=1000)
    report = evaluator.evaluate(records, group_by=["dialect"])
    print(report.to_markdown())
"""
