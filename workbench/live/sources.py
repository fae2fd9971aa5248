"""What a camera reads, said in ``NAME=SOURCE`` arguments, and what may be shown of it.

A stream's URL may carry a user and password (``rtsp://admin:secret@cam/s``) or a key in its
query (``?user=admin&pwd=secret``). Those are used to connect and nothing else: a
:class:`CameraSpec` keeps the full URL in memory only (:attr:`CameraSpec.target`) and shows,
stores and logs :attr:`CameraSpec.source`, the URL without user information and with secret
query values masked (:func:`redact`). Messages that may echo the URL (OpenCV's, FFmpeg's, an
exception's) pass through :meth:`CameraSpec.scrub` before they leave the camera.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote

from workbench.errors import WorkbenchError
from workbench.live.camera_quality import CameraQuality, parse_quality
from workbench.pipeline.capture import is_video

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://", "srt://")
#: Query parameters whose values are masked in what is shown (``pwd``, ``password``, ``token`` ...).
SECRET_QUERY = re.compile(r"pass|pwd|secret|token|key|auth|sig|user|login|cred", re.IGNORECASE)
MASK = "***"


def _split(url: str) -> tuple[str, str, str, str]:
    """``(scheme://, user information, host and the rest before the query, query with its ?/#)``.

    User information runs to the last ``@`` before the query: a password with an unescaped
    ``/`` or ``@`` is still taken whole, never shown in part.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", url, ""
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    userinfo, at, hostpath = head.rpartition("@")
    return scheme + sep, userinfo if at else "", hostpath if at else head, tail


def _mask_query(tail: str) -> str:
    if not tail.startswith("?"):
        return tail
    query, hash_, fragment = tail[1:].partition("#")
    parts = []
    for item in query.split("&"):
        key, eq, _value = item.partition("=")
        parts.append(f"{key}={MASK}" if eq and SECRET_QUERY.search(unquote(key)) else item)
    return "?" + "&".join(parts) + hash_ + fragment


def redact(url: str) -> str:
    """``url`` as it may be shown and stored: no user or password, secret query values masked
    (``rtsp://admin:secret@cam:554/s`` becomes ``rtsp://cam:554/s``)."""
    scheme, _userinfo, hostpath, tail = _split(url)
    return scheme + hostpath + _mask_query(tail)


def secrets_of(url: str) -> list[str]:
    """The strings of ``url`` that must never be shown: its user information, the password
    (as written and decoded) and masked query values; longest first."""
    _scheme, userinfo, _hostpath, tail = _split(url)
    found = {userinfo} if userinfo else set()
    if userinfo:
        password = userinfo.partition(":")[2]
        found |= {password, unquote(password)}
    for item in tail[1:].partition("#")[0].split("&") if tail.startswith("?") else ():
        key, eq, value = item.partition("=")
        if eq and SECRET_QUERY.search(unquote(key)):
            found |= {value, unquote(value)}
    return sorted((s for s in found if len(s) >= 2), key=len, reverse=True)


@dataclass(frozen=True)
class CameraSpec:
    """A camera: its name, what it reads, and its kind (file, folder, device, stream or push).

    ``source`` is what is shown and stored (for a stream, without user information);
    ``secret`` is the full URL when it differs, kept in memory to connect (never in ``repr``);
    ``quality`` what a worse camera would make of its frames (:mod:`workbench.live.camera_quality`).
    """

    name: str
    source: str
    kind: str
    secret: str = field(default="", repr=False, compare=False)
    quality: CameraQuality = field(default_factory=CameraQuality)

    @property
    def target(self) -> str:
        """What to open: the full URL (with its user and password) or the path."""
        return self.secret or self.source

    def label(self) -> str:
        return f"{self.name}={self.source}"

    def scrub(self, text: str) -> str:
        """``text`` (a message that may echo the URL) with the URL's secrets taken out."""
        if not self.secret:
            return text
        text = text.replace(self.secret, self.source)
        for s in secrets_of(self.secret):
            text = text.replace(s, MASK)
        return text


#: The source a pushed camera (the browser's webcam on the Cameras page) is logged with.
PUSHED = "browser"


def recorded(source: str) -> bool:
    """Whether a logged source is a recorded file, whose times are seconds into the video, rather
    than a live one (a stream, a device, the browser's webcam), whose times are the wall clock."""
    s = (source or "").strip()
    return bool(s) and not (s.lower().startswith(STREAM_SCHEMES) or s.isdigit() or s == PUSHED)


def videos_in(folder: Path) -> list[Path]:
    """The videos of a folder, sorted by name (hidden files left out)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_video(p) and not p.name.startswith("."))


def parse_source(arg: str) -> CameraSpec:
    """``NAME=SOURCE`` (or a bare SOURCE, named after it) as a :class:`CameraSpec` (see
    :func:`camera_spec`)."""
    name, sep, source = arg.partition("=")
    if not sep or "://" in name:
        name, source = "", arg
    if not source.strip():
        raise WorkbenchError(f"{redact(arg)!r}: empty camera source (want NAME=FILE, NAME=rtsp://..., NAME=0)")
    return camera_spec(name, source)


def camera_spec(name: str, source: str) -> CameraSpec:
    """A camera called ``name`` (empty: named after its source) reading ``source``.

    A device index is digits (``0``), a network stream starts with a scheme (``rtsp://``),
    a folder holds videos played one after another, anything else is a video file. A stream
    is named after its host and port, never its user.
    """
    source = source.strip()
    if not source:
        raise WorkbenchError(f"{name or 'a camera'}: empty camera source (want a file, rtsp://..., 0)")
    if source.lower().startswith(STREAM_SCHEMES):
        shown = redact(source)
        if not name.strip():
            name = _split(shown)[2].split("/")[0]
        return CameraSpec(name.strip(), shown, "stream", source if shown != source else "")
    if source.isdigit():
        kind = "device"
    else:
        p = Path(source)
        if p.is_dir():
            if not videos_in(p):
                raise WorkbenchError(f"{source}: no video files in this folder")
            kind = "folder"
        elif p.is_file():
            kind = "file"
        else:
            raise WorkbenchError(f"{source}: no such file, folder, device or stream")
    if not name.strip():
        name = Path(source).stem if kind in ("file", "folder") else f"device{source}"
    return CameraSpec(name.strip(), source, kind)


def parse_sources(args: list[str]) -> list[CameraSpec]:
    """Several ``NAME=SOURCE`` arguments; names must be unique."""
    if not args:
        raise WorkbenchError("no camera given: watch NAME=SOURCE [NAME=SOURCE ...]")
    specs = [parse_source(a) for a in args]
    seen: set[str] = set()
    for s in specs:
        if s.name in seen:
            raise WorkbenchError(f"two cameras are called {s.name!r}: give each NAME=SOURCE a different name")
        seen.add(s.name)
    return specs


def with_qualities(specs: Sequence[CameraSpec], settings: Sequence[str]) -> list[CameraSpec]:
    """``specs`` with the camera-quality settings ``[CAMERA:]KEY=VALUE,...`` (``far:distance=25``;
    without a camera, every camera); a camera's own setting replaces the one for every camera."""
    everyone: CameraQuality | None = None
    own: dict[str, CameraQuality] = {}
    names = [s.name for s in specs]
    for text in settings:
        head, colon, rest = text.partition(":")
        if colon and "=" not in head:
            camera = head.strip()
            if camera not in names:
                raise WorkbenchError(f"--quality {text!r}: no camera is called {camera!r} (cameras: {', '.join(names)})")
            if camera in own:
                raise WorkbenchError(f"--quality: camera {camera!r} is given twice")
            own[camera] = parse_quality(rest)
        elif everyone is not None:
            raise WorkbenchError("--quality for every camera is given twice")
        else:
            everyone = parse_quality(text)
    return [replace(s, quality=own.get(s.name, everyone or s.quality)) for s in specs]
