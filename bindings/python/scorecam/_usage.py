"""The one exception of a dataset run that is the caller's mistake, not an image's."""


class UsageError(ValueError):
    """Bad options or inputs, a model or layer not found, an unwritable output directory: the run
    stops before any image is touched (the CLI exits with status 2)."""
