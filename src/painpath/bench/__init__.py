"""Benchmark scoring and interview simulation, together: how PainPath is measured, not how it decides.

    scoring.py    score_cases / score_predictions: top-1, top-3, origin, triage exact / under / over,
                  emergency sensitivity, Brier, "other" recall (``painpath evaluate``)
    simulate.py   simulate one adaptive interview against a case's findings; score_interviews
                  (``painpath evaluate --interview``)
    report.py     the HTML report with calibration and confusion charts (``painpath evaluate --report``)

Nothing in the domain core imports this package. ``painpath.evaluate``, ``painpath.evaluate_report`` and
``painpath.interview.simulate`` are aliases of these modules, kept for existing imports.
"""
