"""The search layer: rank probe vectors against a gallery, enrol faces, keep search indexes.

``rank`` ranks vectors (the match rule itself is :func:`workbench.pipeline.compare.is_match`);
``service`` searches a photo end to end and logs it; ``enrol`` turns photos, folders and
videos into gallery rows; ``index`` keeps exact and faiss indexes in step with the gallery.
"""

from workbench.search.rank import rank, redecide
from workbench.search.service import FaceResult, SearchResult, search_image

__all__ = ["FaceResult", "SearchResult", "rank", "redecide", "search_image"]
