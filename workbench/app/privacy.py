"""Privacy settings in one place: what the app may send, accept and keep, and who may reach it.

* The server listens on 127.0.0.1 only: nobody else on the classroom or newsroom network can
  open the gallery or its purge buttons. ``workbench app --expose`` serves the network on
  purpose, with a warning on the terminal and a banner on every page
  (:func:`workbench.app.ui.stay_local`).
* Streamlit's usage statistics are off, and it never asks an outside service for this
  machine's public IP (it would at start when bound to every interface, and when a page from
  another site tries to connect); the app serves only its own bundled files (Streamlit
  ships its fonts and scripts), so a browser on it talks to the app's host and nothing else.
* Streamlit's developer menu and Deploy button are hidden (``client.toolbarMode``), and its
  automatic list of the ``pages/`` folder is off (``client.showSidebarNavigation``): the
  workbench draws its own navigation, so every page URL works from the first request.
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

#: Where the server listens unless exposed on purpose.
LOCAL_ADDRESS = "127.0.0.1"

#: The Streamlit options the workbench always runs with (also in ``.streamlit/config.toml``).
STREAMLIT_OPTIONS: dict[str, str] = {
    "server.address": LOCAL_ADDRESS,
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
    "client.showSidebarNavigation": "false",
    "server.fileWatcherType": "none",
    "server.maxUploadSize": str(MAX_UPLOAD_MB),
    "server.maxMessageSize": str(MAX_UPLOAD_MB * 4),
}


def streamlit_options(**overrides: str) -> list[str]:
    """``--key value`` command-line arguments for ``streamlit run`` (``overrides`` by option
    name with ``_`` for ``.``, e.g. ``server_address="0.0.0.0"``)."""
    options = dict(STREAMLIT_OPTIONS, **{k.replace("_", ".", 1): v for k, v in overrides.items()})
    return [arg for key, value in options.items() for arg in (f"--{key}", value)]


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only. Unset (Streamlit's
    default: every interface), ``0.0.0.0``, ``::`` or a LAN address are not."""
    import ipaddress

    if not address:
        return False
    if address.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False
