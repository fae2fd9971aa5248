"""Synthetic footage for the watch tests (from :mod:`workbench.bench.footage`: still photos
written as a video into a temporary folder), the cast those stills show (four people of the
packaged demo photos, so the watch tests run in a bare clone too) and a tiny MJPEG server on
127.0.0.1 for network-camera tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from workbench.bench.footage import GAP, SIZE, Segment, frame_of, lfw_photo, segment_of, write_footage  # noqa: F401

_KNN = "face-recognition-examples/knn_examples"
#: Four people of the packaged demo photos (``workbench/demo``, the same names under
#: ../shared/data/faces), each photo showing that person alone, in the order ``Cast.photo`` counts.
CAST = {
    "obama": (f"{_KNN}/train/obama/obama.jpg", f"{_KNN}/train/obama/obama2.jpg", f"{_KNN}/test/obama1.jpg",
              "face-recognition-examples/obama-240p.jpg"),
    "angelina_jolie": ("deepface-unit/img2.jpg", "deepface-unit/img5.jpg", "deepface-unit/img6.jpg",
                       "deepface-unit/img10.jpg", "deepface-unit/img11.jpg"),  # master.csv: all "Yes" pairs
    "kit_harington": (f"{_KNN}/train/kit_harington/john1.jpeg", f"{_KNN}/train/kit_harington/john2.jpeg",
                      f"{_KNN}/test/johnsnow_test1.jpg"),
    "alex_lacamoire": (f"{_KNN}/train/alex_lacamoire/img1.jpg", f"{_KNN}/test/alex_lacamoire1.jpg",
                       "face-recognition-examples/alex-lacamoire.png"),
}


def face_still(photo: Path, out: Path, side: int = 250) -> Path:
    """``photo``'s largest face as a square ``side``-pixel still, the face box about 40 % of its
    width, as in LFW's 250x250 photos (the footage scales each still to the frame's height; a
    whole photo of another shape would be squeezed). Written to ``out`` (a PNG)."""
    import cv2
    from PIL import Image

    from workbench.pipeline.capture import load_image
    from workbench.pipeline.detect import detect_faces

    image = load_image(photo)
    box = detect_faces(image, "hog")[0].box
    half = int(1.25 * max(box.width, box.height))
    cx, cy = (box.left + box.right) // 2, (box.top + box.bottom) // 2
    padded = cv2.copyMakeBorder(image, half, half, half, half, cv2.BORDER_CONSTANT, value=(110, 110, 110))
    crop = padded[cy:cy + 2 * half, cx:cx + 2 * half]  # centred on the face (the padding shifts by `half`)
    Image.fromarray(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)).save(out)
    return out


class Cast:
    """The :data:`CAST` photos as face stills, made once into ``folder`` on first use."""

    def __init__(self, demo: Path, folder: Path) -> None:
        self.demo, self.folder = demo, folder

    def photo(self, person: str, n: int) -> Path:
        """``person``'s ``n``-th still (from 1); past the last photo, the photos come round again."""
        names = CAST[person]
        name = names[(n - 1) % len(names)]
        out = self.folder / f"{person}_{(n - 1) % len(names) + 1}.png"
        return out if out.exists() else face_still(self.demo / name, out)


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
