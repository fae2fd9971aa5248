"""What an evaluation says to a reader: the HTML ``report`` (templates/), ``readable`` headlines,
plotly figures (``plots``), and the LFW and audit reports (``lfw_report``, ``audit_report``)."""
