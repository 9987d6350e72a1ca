"""Errors raised by specweave_ml. All derive from :class:`SpecweaveError`."""


class SpecweaveError(Exception):
    """Base class of every error this package raises on purpose."""


class IncrementNotFoundError(SpecweaveError, LookupError):
    """No increment matches the reference (or none/several are active); the message lists the candidates."""


class InvalidNameError(SpecweaveError, ValueError):
    """An experiment or artifact name that the format does not allow."""


class FormatError(SpecweaveError, ValueError):
    """A file exists but cannot be parsed; it is left untouched. The message names the file."""


class LockTimeoutError(SpecweaveError, TimeoutError):
    """The experiment lock stayed held by a live writer for the whole wait; the message names the holder."""


class SandboxError(SpecweaveError):
    """A path would lead outside the project's ``.specweave/`` folder (a symbolic link planted in the repository) or
    is not what the format allows there; nothing was read or written. The message names the path relative to the
    project root and the fix, never what the link points to."""
