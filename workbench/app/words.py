"""Plain words for the app: the glossary (tooltips and the Glossary page) and what a reason
code means for the person who uploaded the photo (what happened, and what to try).

The library's reasons stay short codes (``no_face``, ``too_small``, ``unreadable: ...``): the
CLI and the JSON output print them as data. The app shows these sentences instead.
No Streamlit here: plain strings in, plain strings out.
"""

from __future__ import annotations

from workbench.pipeline import zoo

#: The gate's limits and the figures quoted below: the default model's (each model's entry carries its own).
DEFAULT = zoo.embedder(zoo.DEFAULT_MODEL)
Q = DEFAULT.gate
#: The minimum face size in words: each shipped model's own, the default's first.
_SIZES = (f"{Q.min_size} px for {DEFAULT.name}, {zoo.embedder(zoo.COMPARISON_MODEL).gate.min_size} px for "
          f"{zoo.COMPARISON_MODEL}")

#: Term -> one or two sentences, as a journalist would explain it.
GLOSSARY: dict[str, str] = {
    "probe": "The photo being searched for: a face from a camera, a crowd or a social-media post that the system "
             "compares with every face in the gallery.",
    "gallery": "The collection of enrolled faces that probes are searched against: for the police, mugshots or "
               "driving-licence photos; here, the photos you enrolled. A watch list is a small gallery.",
    "enrol": "To add a person's photo to a gallery: the face is found, checked for quality and turned into a list "
             "of numbers (a vector), which is what gets stored and compared.",
    "vector": f"The list of numbers ({DEFAULT.dim} for the default model, {DEFAULT.name}) that a face is turned "
              "into. Two photos of the same person should give vectors that are close; searching compares vectors, "
              "not pictures.",
    "distance": "How far apart two faces' vectors are. Smaller means more alike. Each model has its own scale "
                f"({DEFAULT.thresholds.of(DEFAULT.metric):g} is the usual cut-off for the default model, "
                f"{DEFAULT.name}).",
    "similarity": "The distance shown as a percentage, like Rekognition's 'similarity': 80 % is the model's usual "
                  "cut-off, 99 % is half of that distance. It is a conversion of the distance, not a probability "
                  "that two photos show the same person.",
    "threshold": "The cut-off that turns a distance into a yes/no answer: at or under it, two faces are called the "
                 "same person (a match). A looser threshold gives more matches, right and wrong.",
    "match": "Two faces whose distance is at or under the threshold: the system says they are the same person. "
             "It may be wrong.",
    "false match": "The system says two different people are the same person: an innocent person named as a "
                   "suspect. Also called a false positive.",
    "false non-match": "The system says two photos of the same person are different people: a wanted person "
                       "missed. Also called a false negative.",
    "FMR": "False match rate: of the pairs of different people, the share called a match. Always read it with "
           "its count: 0 of 10 pairs says much less than 0 of 10,000.",
    "FNMR": "False non-match rate: of the pairs of the same person, the share not called a match.",
    "EER": "Equal error rate: the error rate at the threshold where false matches and false non-matches are "
           "equally common. One number to compare models; not the rate at any threshold actually used.",
    "ROC": "Receiver operating characteristic: a curve of how many true matches are found against how many false "
           "matches are let through, at every threshold.",
    "DET": "Detection error trade-off: false non-matches against false matches at every threshold, on log scales "
           "so the small rates that matter are visible. Lower-left is better.",
    "FPIR": "False positive identification rate: of searches for people who are NOT in the gallery, the share "
            "that still returned a candidate at the threshold (an innocent person flagged).",
    "FNIR": "False negative identification rate: of searches for people who ARE in the gallery, the share that "
            "did not return them as the top candidate at the threshold.",
    "rank-1": "Of searches for people who are in the gallery, the share where the right person came first.",
    "quality gate": f"Checks a face must pass before it is used: a short side of at least each model's minimum "
                    f"({_SIZES}), "
                    f"not under-exposed (the brightest patch of the face reaches at least {Q.min_exposure:.0f} of "
                    "255: measured on the face's highlights, not on its skin tone), not blurred, not turned too "
                    "far sideways.",
    "replay": "Searching photos of people who are known NOT to be in the gallery, as the ACLU did with the members "
              "of Congress in 2018: every match is a false match.",
    "extrapolation": "A figure carried beyond what was measured (for example to a gallery of millions) with a "
                     "model and its assumptions; it is an estimate, not a measurement.",
    "aligned chip": "The small square image a model really receives: the face cut out, turned and scaled so the "
                    "eyes and nose land in the same place every time (150 x 150 pixels for Dlib, 112 x 112 for "
                    "SFace). Hair, clothes and background outside it never reach the model.",
    "occlusion map": "Which parts of one probe's chip moved one distance: each small square is covered in turn, "
                     "the chip embedded again, and the square coloured by how far the distance moved. Red: that "
                     "square made the two faces look alike to the model; blue: it made them look different. One "
                     "probe, one model: not what the model looks at in general.",
    "impostor": "Someone other than the probe's own person. The closest impostors in a gallery are the people a "
                "false match would most likely name.",
}


def term(name: str) -> str:
    """The glossary's explanation of ``name`` (for a widget's ``help=`` tooltip)."""
    return GLOSSARY[name]


_QUALITY = {
    "too_small": f"The face is too small: its short side is under the quality gate's minimum for the model "
                 f"({_SIZES}). Try a closer or larger photo of the person.",
    "too_dark": f"The photo is too dark: even the brightest patch of the face stays under {Q.min_exposure:.0f} "
                "of 255 (the gate looks at the face's highlights, so dark skin in good light passes). Try a photo "
                "taken in better light.",
    "blurred": "The face is blurred (too little detail). Try a sharper photo.",
    "extreme_pose": "The face is turned too far sideways. Try a photo that shows the face from the front.",
    "no_face": "No face was found in this photo. Try one where the face is large, from the front and well lit.",
    "not the largest face": "Another face in this photo was enrolled instead (one face per photo: the largest "
                            "that passes the quality gate). Crop the photo to the person you mean.",
}

_UNREADABLE = (
    ("empty file", "The file is empty (0 bytes): there is nothing to open. Upload the photo or video again."),
    ("not an image", "This file is not a photo the workbench can open. Use a JPEG, PNG, WebP or BMP file."),
    ("corrupt or truncated", "The photo is damaged or cut short, so it cannot be opened. Export or download it "
                             "again."),
    ("too large", "The photo is too large to open safely (over 100 megapixels). Make a smaller copy and use that."),
    ("no such file", "The file is not there any more. Choose it again."),
    ("is a folder", "That is a folder, not a photo. Choose the photos inside it."),
    ("not a video", "This file is not a video the workbench can open. Use an MP4, AVI, MOV, MKV or WebM file."),
    ("no readable frames", "No frame of this video could be read. It may be damaged; export it again."),
    ("no face", _QUALITY["no_face"]),
)

#: A few words for a face's verdict under its thumbnail.
_SHORT = {"too_small": "too small for the model", "too_dark": "too dark", "blurred": "blurred",
          "extreme_pose": "turned sideways", "no_face": "no face found", "not the largest face": "another face used"}


def short(reason: str | None) -> str:
    """A rejection reason in a few words (a caption under a face)."""
    return _SHORT.get(str(reason), str(reason)) if reason else ""


def message(err: Exception) -> str:
    """An error for the app: ``"<what>: <what happened, what to try>"`` instead of a code."""
    from workbench.errors import ImageError

    if isinstance(err, ImageError):
        name = str(err)[: -len(err.reason) - 2] if str(err).endswith(err.reason) else ""
        return f"{name}: {explain(err.reason)}" if name else explain(err.reason)
    text = str(err)
    explained = explain(text)
    if explained == text:
        return text
    head = text.split(": ", 1)[0] if ": " in text else ""
    return f"{head}: {explained}" if head else explained


def explain(reason: str | None) -> str:
    """What a rejection or error reason means, in words, with what to try.

    Unknown reasons are returned as they are (never hidden).
    """
    if not reason:
        return ""
    text = str(reason)
    if text in _QUALITY:
        return _QUALITY[text]
    for needle, words in _UNREADABLE:
        if needle in text:
            return words
    return text
