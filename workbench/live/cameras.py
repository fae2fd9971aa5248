"""Camera sources: video files, folders of videos, webcam device indexes, network streams
(``rtsp://``, ``http://`` MJPEG/HLS: whatever OpenCV's FFmpeg backend opens) and frames pushed
by the app (a browser webcam). Every source yields :class:`CameraFrame` records; decoding is
OpenCV's, never ours.

* **Files** play at their own frame rate by default, as a camera would deliver them: when the
  pipeline falls behind, the frames whose time has passed are grabbed but not decoded and
  counted as dropped. ``fast=True`` plays every frame as fast as the pipeline takes them
  (batch analysis of footage). A resumed run starts at the frame where the last one stopped.
* **Streams and devices** are read by a thread that keeps only the newest frame (older ones
  are dropped and counted, so no lag builds up). A stream that fails to open, stalls (OpenCV's
  read timeout) or ends is reopened with exponential back-off: ``backoff`` seconds doubling
  to ``backoff_max``, at most ``retries`` failures in a row, then the source is reported
  failed. The loop is ours (ten lines), not a retry library's: it waits on the watch's stop
  event, so stopping a watch never waits out a back-off, and it reports every attempt as the
  camera's status.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from workbench.errors import VideoError
from workbench.live.sources import STREAM_SCHEMES, CameraSpec, parse_source, parse_sources, videos_in
from workbench.pipeline.capture import bgr_to_rgb

__all__ = ["STREAM_SCHEMES", "CameraFrame", "CameraSpec", "LatestFrame", "PushSource", "SourceCounters", "Stamp",
           "file_frames", "folder_frames", "parse_source", "parse_sources", "read_stream", "stream_frames"]

#: OpenCV's open and read timeouts for network streams (a stalled stream is a failed read).
STREAM_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class CameraFrame:
    """One frame of a camera: its index in the source, its time in the video (files) or since
    the stream opened, the wall-clock time it arrived (``time.time()``), the ``perf_counter``
    time it was due (for latency), and RGB pixels."""

    index: int
    video_s: float
    wall: float
    arrived: float
    image: np.ndarray = field(repr=False)
    source: str = ""

    def stamp(self) -> Stamp:
        return Stamp(self.index, self.video_s, self.wall, self.arrived, self.source)


@dataclass(frozen=True)
class Stamp:
    """A frame without its pixels: what tracks remember of their first and last frames."""

    index: int
    video_s: float
    wall: float
    arrived: float
    source: str = ""


# -- files --------------------------------------------------------------------------------

@dataclass
class SourceCounters:
    """What a source reports: frames delivered and dropped, reconnections, its last problem."""

    delivered: int = 0
    dropped: int = 0
    reconnects: int = 0
    problem: str = ""


def _open_capture(target: str | int, stream: bool, shown: str | None = None):  # -> cv2.VideoCapture
    """Open ``target``; a failure names it as ``shown`` (a stream's URL without its password)."""
    import cv2

    if stream:
        cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS,
                                                         cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS])
    else:
        cap = cv2.VideoCapture(target)
    if not cap.isOpened():
        cap.release()
        what = "device" if isinstance(target, int) else ("stream" if stream else "video")
        raise VideoError(f"{target if shown is None else shown}: not a {what} OpenCV can open")
    return cap


def file_frames(path: str | os.PathLike, *, fast: bool, start: int = 0, stop: threading.Event | None = None,
                counters: SourceCounters | None = None, offset_s: float = 0.0) -> Iterator[CameraFrame]:
    """Frames of a video file from frame ``start``: paced at the file's frame rate (late frames
    are grabbed, not decoded, and counted as dropped) or, with ``fast``, every frame at once."""
    import cv2

    counters = counters if counters is not None else SourceCounters()
    cap = _open_capture(str(path), stream=False)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 25.0
    index = 0
    try:
        if start > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            index = int(cap.get(cv2.CAP_PROP_POS_FRAMES)) or start
        t0 = time.perf_counter() - index / fps
        while stop is None or not stop.is_set():
            due = t0 + index / fps
            if not fast:
                late = int((time.perf_counter() - due) * fps)
                for _ in range(max(late, 0)):  # a camera does not wait: frames whose time passed are gone
                    if not cap.grab():
                        return
                    index += 1
                    counters.dropped += 1
                due = t0 + index / fps
                wait = due - time.perf_counter()
                if wait > 0 and stop is not None and stop.wait(wait):
                    return
                if wait > 0 and stop is None:
                    time.sleep(wait)
            ok, frame = cap.read()
            if not ok or frame is None:
                return
            now = time.perf_counter()
            counters.delivered += 1
            yield CameraFrame(index, offset_s + index / fps, time.time(), due if not fast else now,
                              bgr_to_rgb(frame), str(path))
            index += 1
    finally:
        cap.release()


def folder_frames(folder: str | os.PathLike, *, fast: bool, stop: threading.Event | None = None,
                  counters: SourceCounters | None = None,
                  start_of: Callable[[str], int] = lambda _p: 0) -> Iterator[CameraFrame]:
    """The videos of a folder one after another (sorted by name), video time running on."""
    from workbench.pipeline.capture import video_info

    offset = 0.0
    for video in videos_in(Path(folder)):
        try:
            n, fps = video_info(video)
        except VideoError as err:
            if counters is not None:
                counters.problem = str(err)
            continue
        yield from file_frames(video, fast=fast, start=start_of(str(video)), stop=stop, counters=counters,
                               offset_s=offset)
        offset += n / (fps or 25.0)


# -- live sources: a reader thread keeps the newest frame -----------------------------------

class LatestFrame:
    """A one-frame mailbox: the reader overwrites (counting the drop), the consumer takes."""

    def __init__(self, counters: SourceCounters) -> None:
        self._cond = threading.Condition()
        self._frame: CameraFrame | None = None
        self._closed = False
        self.counters = counters

    def put(self, frame: CameraFrame) -> None:
        with self._cond:
            if self._frame is not None:
                self.counters.dropped += 1
            self._frame = frame
            self.counters.delivered += 1
            self._cond.notify_all()

    def close(self, problem: str = "") -> None:
        with self._cond:
            if problem:
                self.counters.problem = problem
            self._closed = True
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> CameraFrame | None:
        """The newest frame, waiting for one; ``None`` once closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout=timeout)
            frame, self._frame = self._frame, None
            return frame

    @property
    def closed(self) -> bool:
        return self._closed

    def __iter__(self) -> Iterator[CameraFrame]:
        while True:
            frame = self.take()
            if frame is None:
                return
            yield frame


def read_stream(target: str | int, box: LatestFrame, stop: threading.Event, *, retries: int = 5,
                backoff: float = 0.5, backoff_max: float = 8.0, status: Callable[[str], None] = lambda _s: None,
                shown: str | None = None) -> None:
    """Read a stream or device into ``box`` until ``stop``, reopening it with back-off. Messages
    and frames name it ``shown`` (default: ``target``; a URL without its password)."""
    stream = not isinstance(target, int)
    shown = str(target) if shown is None else shown
    failures = 0
    t_open = time.perf_counter()
    index = 0
    while not stop.is_set():
        try:
            cap = _open_capture(target, stream, shown)
        except VideoError as err:
            problem = str(err)
        else:
            if failures:
                box.counters.reconnects += 1
            status("running")
            try:
                while not stop.is_set():
                    ok, frame = cap.read()
                    if not ok or frame is None:
                        break
                    failures = 0  # a good frame: the next failure starts the back-off afresh
                    now = time.perf_counter()
                    box.put(CameraFrame(index, now - t_open, time.time(), now, bgr_to_rgb(frame), shown))
                    index += 1
            except Exception as err:  # noqa: BLE001 - garbage from the wire is a failed read
                problem = f"{shown}: unreadable frame ({type(err).__name__})"
            else:
                problem = f"{shown}: the stream ended or stalled"
            finally:
                cap.release()
        if stop.is_set():
            break
        failures += 1
        if failures > retries:
            box.close(f"{problem} (gave up after {retries} reconnection attempts)")
            return
        delay = min(backoff * 2 ** (failures - 1), backoff_max)
        status(f"reconnecting in {delay:.1f} s (attempt {failures} of {retries}): {problem}")
        if stop.wait(delay):
            break
    box.close()


def stream_frames(target: str | int, *, stop: threading.Event, counters: SourceCounters, retries: int = 5,
                  backoff: float = 0.5, backoff_max: float = 8.0, status: Callable[[str], None] = lambda _s: None,
                  shown: str | None = None) -> Iterator[CameraFrame]:
    """Frames of a network stream or a device, newest first-come, with reconnection (named
    ``shown`` in frames and messages: see :func:`read_stream`)."""
    box = LatestFrame(counters)
    shown = str(target) if shown is None else shown
    reader = threading.Thread(target=read_stream, args=(target, box, stop),
                              kwargs=dict(retries=retries, backoff=backoff, backoff_max=backoff_max, status=status,
                                          shown=shown),
                              daemon=True, name=f"stream-{shown}")
    reader.start()  # it ends by itself: on the stop event, or when it gives up
    yield from box


class PushSource:
    """Frames handed in by someone else (the app's WebRTC callback): newest kept, older dropped.

    ``push(rgb)`` from the producer's thread; the watch iterates it; ``close()`` ends it.
    """

    def __init__(self) -> None:
        self.counters = SourceCounters()
        self._box = LatestFrame(self.counters)
        self._index = 0
        self._t0 = time.perf_counter()

    def push(self, image: np.ndarray) -> None:
        now = time.perf_counter()
        self._box.put(CameraFrame(self._index, now - self._t0, time.time(), now, image, "push"))
        self._index += 1

    def close(self) -> None:
        self._box.close()

    def __iter__(self) -> Iterator[CameraFrame]:
        return iter(self._box)
