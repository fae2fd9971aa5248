"""The live layer: per-frame processing of video (detect, track, embed once per track, search).

``processor`` holds the per-stream pipeline and its real-time preset; ``drawing`` annotates
frames. Frame statistics are :class:`workbench.types.FrameStats`.
"""

from workbench.live.drawing import draw_tracks
from workbench.live.processor import (
           REALTIME,
           UNKNOWN,
           LiveProcessor,
           Track,
           process_video,
           stage_summary,
)
from workbench.live.summary import Seen, as_rows
from workbench.types import FrameStats

__all__ = ["REALTIME", "UNKNOWN", "FrameStats", "LiveProcessor", "Seen", "Track", "as_rows", "draw_tracks",
           "process_video", "stage_summary"]
