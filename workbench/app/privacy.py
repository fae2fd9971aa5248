"""Privacy settings in one place: what the app may send, accept and keep.

* Streamlit's usage statistics are off; the app serves only its own bundled files (Streamlit
  ships its fonts and scripts), so a browser on it talks to the app's host and nothing else.
* WebRTC uses no STUN/TURN server unless ``WORKBENCH_ICE_SERVERS`` names some (see
  :func:`workbench.app.ui.ice_servers`).
* Uploads are capped at :data:`MAX_UPLOAD_MB` per file by Streamlit, and decoded images at
  :data:`workbench.pipeline.capture.MAX_PIXELS` pixels by the loader.

``workbench app`` passes :func:`streamlit_options` on the command line and runs from the
checkout, whose ``.streamlit/config.toml`` says the same for ``streamlit run app.py``.
"""

from __future__ import annotations

#: Largest upload the app accepts, per file, in megabytes (Streamlit's ``server.maxUploadSize``):
#: room for a 48-megapixel JPEG or a short phone video, not for a whole photo library.
MAX_UPLOAD_MB = 50

#: The Streamlit options the workbench always runs with.
STREAMLIT_OPTIONS: dict[str, str] = {
    "browser.gatherUsageStats": "false",
    "server.fileWatcherType": "none",
    "server.maxUploadSize": str(MAX_UPLOAD_MB),
    "server.maxMessageSize": str(MAX_UPLOAD_MB * 4),
}


def streamlit_options() -> list[str]:
    """``--key value`` command-line arguments for ``streamlit run``."""
    return [arg for key, value in STREAMLIT_OPTIONS.items() for arg in (f"--{key}", value)]
