"""The data an evaluation reads: labelled pairs (``pairs``), group labels (``labels``), LFW,
near-duplicate photos (``duplicates``) and vectors through the embedding cache (``embedding``)."""
