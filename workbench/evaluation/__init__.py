"""The evaluation layer: error rates (``metrics``), 1:1 verification, 1:N identification,
the replay of innocent probes, labels for per-group figures, reports and plotly figures."""
