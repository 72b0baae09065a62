"""Errors that report a user mistake.

This module has no dependencies so that every room (`s5rf_neuro`, `export`,
`hardware`) can raise the same error type. The commands catch `S5RFError`
and print its message as one line, with a non-zero exit and no traceback.
"""


class S5RFError(Exception):
    """A user mistake: a bad file, argument, configuration or data set.

    The message is one line that names the file or argument and the problem.
    """


class ConfigError(S5RFError, ValueError):
    """A configuration that cannot be built; the message names the field."""


class CheckpointError(S5RFError):
    """A file that is not a valid checkpoint; the message names the file."""


class DataError(S5RFError):
    """A data set that is missing, malformed or inconsistent."""


class TargetError(S5RFError, ValueError):
    """A network that does not fit a hardware target, or an unknown target."""


class FormatError(S5RFError):
    """A `.nir` or other exchange file this project cannot read."""


class NetworkError(S5RFError, ValueError):
    """A network description with impossible numbers (shapes, ranges, non-finite values)."""


class ReportError(S5RFError):
    """A report that cannot be made: unwritable directory, missing data, unusable model file."""


class EnergyProfileError(S5RFError, ValueError):
    """An energy profile that cannot be used; the message names the file and the field."""
