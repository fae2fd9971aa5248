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
  :func:`ice_servers`; a value it cannot use is said once, in words, and none is used).
* Uploads are capped at :data:`MAX_UPLOAD_MB` per file by Streamlit, and decoded images at
  :data:`workbench.pipeline.capture.MAX_PIXELS` pixels by the loader.

``workbench app`` passes :func:`streamlit_options` on the command line and runs from the
checkout, whose ``.streamlit/config.toml`` says the same for ``streamlit run app.py``.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass

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
    # not privacy, but the same command line: no full garbage collection after every run of a page.
    # With a class of sessions it held the one interpreter lock for about a tenth of the server's
    # time (py-spy, 5 sessions searching); Python's own collector still runs as objects pile up.
    "runner.postScriptGC": "false",
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


#: The environment variable that names WebRTC's STUN/TURN servers (a JSON list).
ICE_ENV = "WORKBENCH_ICE_SERVERS"
ICE_EXAMPLE = '[{"urls": "stun:stun.example.org:3478"}]'
_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
_ICE_KEYS = {"urls", "username", "credential"}


@dataclass(frozen=True)
class IceServers:
    """The STUN/TURN servers WebRTC may use (RTCIceServer objects: ``urls``, and ``username`` and
    ``credential`` for TURN), and what was wrong with the setting, in words ("" when nothing)."""

    servers: tuple[dict[str, object], ...] = ()
    problem: str = ""


def _ice_problem(value: object) -> str:
    if not isinstance(value, list):
        return f"it must be a JSON list of servers, not {type(value).__name__ if value is not None else 'null'}"
    for i, server in enumerate(value, 1):
        if not isinstance(server, dict) or "urls" not in server:
            return f'server {i} is not an object with "urls"'
        if set(server) - _ICE_KEYS:
            return f"server {i} has unknown keys ({', '.join(sorted(map(str, set(server) - _ICE_KEYS)))})"
        urls = server["urls"] if isinstance(server["urls"], list) else [server["urls"]]
        if not urls or not all(isinstance(u, str) and u.lower().startswith(_ICE_SCHEMES) for u in urls):
            return f"server {i}'s urls must start with stun:, stuns:, turn: or turns:"
        if any(k in server and not isinstance(server[k], str) for k in ("username", "credential")):
            return f"server {i}'s username and credential must be text"
    return ""


@functools.lru_cache(maxsize=8)
def ice_servers(raw: str) -> IceServers:
    """The servers ``raw`` (the value of :data:`ICE_ENV`) names; empty when unset. A value that
    cannot be used gives no server and a :attr:`IceServers.problem` that says what is wrong
    and what is used instead, logged once per value (the value itself is never repeated: a
    TURN server's credential may be in it)."""
    if not raw.strip():
        return IceServers()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        what = f"it is not valid JSON ({err.msg} at character {err.pos + 1})"
    else:
        what = _ice_problem(value)
        if not what:
            return IceServers(tuple(value))
    problem = (f"{ICE_ENV} was ignored: {what}. The webcam uses no STUN/TURN server instead, which works "
               f"when the browser runs on this machine. Example: {ICE_ENV}='{ICE_EXAMPLE}'")
    logging.getLogger("workbench").warning(problem)
    return IceServers(problem=problem)
