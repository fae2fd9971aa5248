"""Synthetic footage for the watch tests (from :mod:`workbench.bench.footage`: LFW still photos
written as a video into a temporary folder) and a tiny MJPEG server on 127.0.0.1 for
network-camera tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from workbench.bench.footage import GAP, SIZE, Segment, frame_of, lfw_photo, segment_of, write_footage  # noqa: F401


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
