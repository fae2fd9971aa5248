"""Statistics as pure functions over distances and counts: error rates and curves (``metrics``),
the benchmark protocols (``protocols``) and the answer at the scale of real galleries (``scale``)."""
