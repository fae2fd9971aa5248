"""Errors the user can act on. Each message is one line, meant to be shown as is."""


class WorkbenchError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits non-zero."""


class ImageError(WorkbenchError):
    """A file or buffer that is missing, empty, corrupt, not an image, or too large.

    ``str(err)`` is ``"<name>: <reason>"``; ``err.reason`` is the reason alone.
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason

    def __reduce__(self):  # raised in a worker process, re-raised in the app's: the same error
        return type(self), (self.name, self.reason)


class VideoError(WorkbenchError):
    """A video that cannot be opened or has no readable frames."""


class NoFaceError(WorkbenchError):
    """An image in which no usable face was found where one was required."""


class ModelError(WorkbenchError):
    """An unknown model or detector name."""


class WeightsMissingError(ModelError):
    """Model weights are not on disk and the workbench does not download at run time."""


class WeightsCorruptError(ModelError):
    """A shipped weight file whose content is not the one that was shipped (sha256 mismatch)."""


class GalleryError(WorkbenchError):
    """An unknown gallery, person or face, or a gallery operation that cannot be done."""


class ModelMismatchError(GalleryError):
    """A gallery holds vectors of another model than the one asked for: they are never compared."""

    def __init__(self, gallery: str, gallery_model: str, model: str) -> None:
        super().__init__(
            f"gallery {gallery!r} holds {gallery_model} vectors, and {model} vectors are never compared with "
            f"them: use {gallery_model} (--model {gallery_model}, or no --model: a gallery is used with its own), "
            "or another gallery")
        self.gallery, self.gallery_model, self.model = gallery, gallery_model, model

    def __reduce__(self):
        return type(self), (self.gallery, self.gallery_model, self.model)


class DatabaseError(WorkbenchError):
    """A database that is locked by another process, corrupt, or built for another model."""


class RangeError(WorkbenchError):
    """A number outside its domain: a threshold that is not a finite distance the metric can
    reach, a vector that is not finite or not of a plausible length."""
