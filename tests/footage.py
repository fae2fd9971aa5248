"""Synthetic "footage" for the watch tests and the clustering benchmark: still photos (LFW)
shown one after another as a video, written with OpenCV into a temporary folder (never into
the repository), and a tiny MJPEG server on 127.0.0.1 for network-camera tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

SIZE = (400, 320)  # frame width, height
GAP = 14  # blank frames between photos: longer than a track survives unseen (5 detections x 2 frames)


@dataclass(frozen=True)
class Segment:
    person: str
    first: int
    last: int


def frame_of(photo: Path, size: tuple[int, int] = SIZE) -> np.ndarray:
    """An RGB frame with the photo scaled to the frame's height, centred on grey."""
    import cv2
    from PIL import Image

    w, h = size
    im = np.asarray(Image.open(photo).convert("RGB"))
    side = h
    im = cv2.resize(im, (side, side), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((h, w, 3), 110, np.uint8)
    x = (w - side) // 2
    canvas[:, x:x + side] = im
    return canvas


def write_footage(out: Path, shots: list[tuple[str, Path]], *, frames: int = 16, fps: float = 10.0,
                  size: tuple[int, int] = SIZE) -> list[Segment]:
    """An mp4 of ``shots`` (person, photo), each shown ``frames`` frames, blank gaps between;
    returns where each person is (frame ranges)."""
    import cv2

    blank = np.full((size[1], size[0], 3), 110, np.uint8)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    segments, index = [], 0
    for k, (person, photo) in enumerate(shots):
        img = cv2.cvtColor(frame_of(photo, size), cv2.COLOR_RGB2BGR)
        for _ in range(frames):
            writer.write(img)
        segments.append(Segment(person, index, index + frames - 1))
        index += frames
        for _ in range(GAP):
            writer.write(blank)
        index += GAP
    writer.release()
    return segments


def segment_of(segments: list[Segment], frame: int) -> Segment | None:
    return next((s for s in segments if s.first <= frame <= s.last + GAP), None)


def lfw_photo(lfw: Path, person: str, n: int) -> Path:
    return lfw / person / f"{person}_{n:04d}.jpg"


class MjpegServer:
    """``http://127.0.0.1:PORT/...`` serving MJPEG: ``frames`` JPEG frames per connection, then
    it drops the connection; connections after ``serve_connections`` get garbage (or, with
    ``garbage=True``, every connection does)."""

    def __init__(self, images: list[np.ndarray], *, frames: int = 30, serve_connections: int = 2,
                 garbage: bool = False, fps: float = 30.0) -> None:
        import cv2

        self.jpegs = [cv2.imencode(".jpg", cv2.cvtColor(i, cv2.COLOR_RGB2BGR))[1].tobytes() for i in images]
        self.frames, self.serve_connections, self.garbage, self.fps = frames, serve_connections, garbage, fps
        self.connections = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                outer.connections += 1
                if outer.garbage or outer.connections > outer.serve_connections:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.end_headers()
                    self.wfile.write(b"\x00garbage, not a video" * 200)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for i in range(outer.frames):
                        b = outer.jpegs[i % len(outer.jpegs)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                         % len(b) + b + b"\r\n")
                        time.sleep(1.0 / outer.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/camera.mjpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
