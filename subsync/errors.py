class SubsyncError(Exception):
    """A user-facing error: its message is one line, shown without a traceback."""
class SubtitleError(SubsyncError): ...
class MediaError(SubsyncError): ...
class ModelError(SubsyncError): ...
class AlignmentError(SubsyncError): ...


class RefusedError(SubsyncError):
    """The self-check refused the result (another episode, no speech, a hopeless match).

    ``result`` is the best guess (None when there is none); ``force`` returns it instead."""

    exit_code = 3

    def __init__(self, message: str, result=None) -> None:
        super().__init__(message)
        self.result = result


class NoSpeechError(RefusedError):
    """The audio holds no speech to sync to."""
