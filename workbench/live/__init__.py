"""The live layer: per-frame processing of video (detect, track, embed once per track, search).

``processor`` holds the per-stream pipeline and its real-time preset; ``tracking`` follows faces
from frame to frame (:class:`Track`, Hungarian assignment on IoU). Frames are annotated by
:mod:`workbench.pipeline.annotate`. Frame statistics are :class:`workbench.types.FrameStats`.
"""

from workbench.live.camera_quality import CameraQuality, parse_quality
from workbench.live.processor import (
           REALTIME,
           LiveProcessor,
           process_video,
           stage_summary,
)
from workbench.live.summary import Seen, as_rows
from workbench.live.tracking import UNKNOWN, Track, Tracker
from workbench.types import FrameStats

__all__ = ["REALTIME", "UNKNOWN", "CameraQuality", "FrameStats", "LiveProcessor", "Seen", "Track", "Tracker",
           "as_rows", "parse_quality", "process_video", "stage_summary"]
