"""The bad-input corpus, generated on the fly (never committed as binaries).

Every file is built from scikit-image's astronaut photo (one face) or from nothing, so the
corpus needs no shared data. ``broken`` files must be refused with one clear line;
``unusual`` ones are valid images in odd encodings whose face must still be found.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

def astronaut_one_face() -> np.ndarray:
    """scikit-image's astronaut photo, RGB uint8 (512, 512, 3), with one face only.

    dlib's HOG detector also puts a face box (score 0.12 against 1.16 for her face) on the
    mission patch of her suit, and that box passes the quality gate; a photo with two such
    faces is not enrolled under one name without saying which. Below row 300 (her face ends
    at row 167) the photo is blurred, so the fixture shows one face, as its tests assume.
    """
    import cv2
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())
    image[300:] = cv2.GaussianBlur(image, (0, 0), 12)[300:]
    return image


#: EXIF Orientation value -> the transpose that turns an upright photo into what a camera
#: with that orientation would have stored (exif_transpose applies the inverse).
_STORE_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _jpeg(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90, **kw)
    return buf.getvalue()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def exif_rotated(upright: np.ndarray, orientation: int) -> bytes:
    """JPEG bytes stored the way a camera with EXIF ``orientation`` stores ``upright``."""
    im = Image.fromarray(upright)
    if _STORE_AS[orientation] is not None:
        im = im.transpose(_STORE_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _jpeg(im, exif=exif.tobytes())


def broken_images(face: np.ndarray) -> dict[str, tuple[str, bytes, str]]:
    """name -> (file name, bytes, what the error line must say)."""
    good_jpg = _jpeg(Image.fromarray(face))
    good_png = _png(Image.fromarray(face))
    corrupt_header = bytearray(good_jpg)
    corrupt_header[2:40] = b"\x00" * 38  # SOI kept, APP0/quantisation headers destroyed
    return {
        "zero-byte": ("zero.jpg", b"", "empty file"),
        "text renamed .jpg": ("notes.jpg", b"shopping list: eggs, milk\n" * 20, "not an image"),
        "truncated JPEG": ("truncated.jpg", good_jpg[: len(good_jpg) // 2], "truncated"),
        "truncated PNG": ("truncated.png", good_png[: len(good_png) // 2], "truncated"),
        "corrupt JPEG header": ("corrupt-header.jpg", bytes(corrupt_header), "image"),
        "decompression bomb 30000x30000": ("bomb.png", _png_declaring(30000, 30000), "too large"),
    }


def faceless_images() -> dict[str, tuple[str, bytes]]:
    """Readable images with no face in them."""
    return {
        "1x1": ("one-pixel.png", _png(Image.new("RGB", (1, 1), (200, 10, 10)))),
        "10x10": ("ten-pixels.png", _png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (10, 10, 3), np.uint8)))),
    }


def unusual_images(face: np.ndarray) -> dict[str, tuple[str, bytes]]:
    """Valid images in odd modes and containers; each shows the same face."""
    im = Image.fromarray(face)
    out = {
        "grayscale": ("gray.png", _png(im.convert("L"))),
        "RGBA": ("rgba.png", _png(im.convert("RGBA"))),
        "16-bit PNG": ("sixteen.png", _png(Image.fromarray((np.asarray(im.convert("L")).astype(np.uint16) * 257)))),
        "CMYK JPEG": ("cmyk.jpg", _jpeg(im.convert("CMYK"))),
        "palette GIF": ("palette.gif", _save(im.convert("P", palette=Image.Palette.ADAPTIVE), "GIF")),
        "animated GIF": ("animated.gif", _save(im, "GIF", save_all=True, append_images=[im.rotate(5), im.rotate(-5)],
                                               duration=100, loop=0)),
        "animated WebP": ("animated.webp", _save(im, "WEBP", save_all=True, append_images=[im.rotate(5)],
                                                 duration=100, loop=0)),
    }
    for o in range(1, 9):
        out[f"EXIF orientation {o}"] = (f"exif-{o}.jpg", exif_rotated(face, o))
    return out


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def big_photo(face: np.ndarray) -> bytes:
    """A real 8000 x 6000 JPEG (48 MP): the face, enlarged, on a wide canvas."""
    import cv2

    canvas = np.full((6000, 8000, 3), 90, np.uint8)
    big = cv2.resize(face, (3000, 3000), interpolation=cv2.INTER_CUBIC)
    canvas[1500:4500, 2500:5500] = big
    return _jpeg(Image.fromarray(canvas))


def videos(folder: Path, face: np.ndarray) -> dict[str, tuple[Path, str]]:
    """name -> (path, what the error must say): zero frames, truncated MP4, non-video .mp4."""
    import av

    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "no-frames.mp4"
    with av.open(str(empty), "w") as c:  # a header and no frame at all
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        c.start_encoding()
    good = folder / "good.mp4"
    with av.open(str(good), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = face.shape[1], face.shape[0], "yuv420p"
        for i in range(20):
            for p in s.encode(av.VideoFrame.from_ndarray(np.roll(face, i, axis=1), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    truncated = folder / "truncated.mp4"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    fake = folder / "fake.mp4"
    fake.write_text("this is a text file, not a video\n" * 50)
    good.unlink()
    return {"zero frames": (empty, "video"), "truncated MP4": (truncated, "video"),
            "non-video renamed .mp4": (fake, "not a video")}
