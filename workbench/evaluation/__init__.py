"""The evaluation layer, one folder per concern: ``stats`` (pure functions: error rates,
protocols, the scale answer), ``datasets`` (pairs, labels, LFW, duplicates, embedding through
the cache), ``runners`` (verification, identification, replay, audit, acquisition, LFW) and
``reports`` (HTML reports, headlines in words, plotly figures)."""
