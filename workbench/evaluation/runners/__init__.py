"""The evaluations themselves: 1:1 ``verification``, 1:N ``identification``, the ``replay`` of
innocent probes, the demographic ``audit`` and its failures to ``acquisition``, and the ``lfw`` runs."""
