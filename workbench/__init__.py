"""Face-recognition research workbench: detect, enrol, search and measure, offline.

The library is the product; the CLI (`workbench.cli`) and the Streamlit pages are thin
shells around it. Images inside the package are always RGB ``uint8`` arrays of shape
``(H, W, 3)``; boxes are :class:`workbench.types.Box` (left, top, right, bottom) in pixels.
"""

from workbench.errors import WorkbenchError
from workbench.types import Box, Detection, Embedding, Face, Match, Quality

__all__ = ["Box", "Detection", "Embedding", "Face", "Match", "Quality", "WorkbenchError"]
__version__ = "0.1.0"
