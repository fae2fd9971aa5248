import io

import numpy as np
import pytest
from PIL import Image

from workbench.errors import ImageError, VideoError
from workbench.pipeline import capture


def test_path_bytes_and_array_load_the_same_pixels(astronaut, astronaut_png):
    from_path = capture.load_image(astronaut_png)
    from_bytes = capture.load_image(astronaut_png.read_bytes())
    from_array = capture.load_image(astronaut)
    assert from_path.dtype == np.uint8 and from_path.shape == (512, 512, 3)
    assert np.array_equal(from_path, astronaut)
    assert np.array_equal(from_bytes, astronaut)
    assert np.array_equal(from_array, astronaut)


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = (255, 0, 0)  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    p = tmp_path / "rot.jpg"
    Image.fromarray(img).save(p, exif=exif, quality=95)
    out = capture.load_image(p)
    assert out.shape == (40, 20, 3)  # width and height swapped
    assert out[2, 10, 0] > 200 and out[-3, 10, 0] < 60  # red ends up on top


def test_rgba_and_grey_become_rgb(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    assert capture.load_image(buf.getvalue()).shape == (8, 8, 3)
    grey = capture.load_image(np.full((5, 6), 7, np.uint8))
    assert grey.shape == (5, 6, 3) and grey[0, 0, 2] == 7


def test_bgr_edge_flips_channels():
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 0] = 255  # blue in OpenCV order
    assert capture.bgr_to_rgb(bgr)[0, 0].tolist() == [0, 0, 255]


@pytest.mark.parametrize("content,needle", [
    (b"", "empty file"),
    (b"hello, not an image", "not an image"),
])
def test_bad_files_give_one_clear_error(tmp_path, content, needle):
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    with pytest.raises(ImageError, match=needle) as exc:
        capture.load_image(p)
    assert "\n" not in str(exc.value)


def test_truncated_jpeg_is_reported(tmp_path, astronaut):
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, format="JPEG")
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.getvalue()[:2000])
    with pytest.raises(ImageError, match="corrupt|truncated|not an image"):
        capture.load_image(p)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        capture.load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        capture.load_image(tmp_path)


def test_huge_images_are_refused(monkeypatch, astronaut_png):
    monkeypatch.setattr(capture, "MAX_PIXELS", 100_000)
    with pytest.raises(ImageError, match="too large"):
        capture.load_image(astronaut_png)


def test_video_frames_are_rgb_and_sampled(tmp_path):
    import cv2

    p = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for _ in range(30):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[..., 2] = 255  # red, in BGR order
        w.write(frame)
    w.release()
    frames = list(capture.iter_frames(p))
    assert len(frames) == 30
    assert frames[0].image[10, 10, 0] > 200 and frames[0].image[10, 10, 2] < 60
    sampled = list(capture.iter_frames(p, every_s=1.0))
    assert [f.index for f in sampled] == [0, 10, 20]
    assert len(list(capture.iter_frames(p, max_frames=4))) == 4
    assert [f.index for f in capture.iter_frames(p, every=7, max_frames=3)] == [0, 7, 14]
    # the live loop: every 4th frame among the first 10, the same frames as before (0, 4, 8)
    from workbench.live import LiveProcessor, process_video

    assert [i for i, _, _ in process_video(str(p), LiveProcessor(), every=4, max_frames=10)] == [0, 4, 8]


def test_bad_videos(tmp_path):
    empty = tmp_path / "e.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        list(capture.iter_frames(empty))
    junk = tmp_path / "j.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VideoError):
        list(capture.iter_frames(junk))
