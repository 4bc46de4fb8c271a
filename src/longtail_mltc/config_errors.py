"""The error for a wrong configuration value: a YAML key, what was expected, what was found.

A :class:`ConfigurationError` is a ``ValueError`` whose message is meant for the person editing
``conf/``: it names the key (``user_corpora.bibtex.files``), what was expected and what was
given, never a Python internal. The project CLI prints it as one line (docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ConfigurationError", "configuration_error"]


class ConfigurationError(ValueError):
    """A parameter or a declaration under ``conf/`` has a wrong or missing value."""


def configuration_error(
    key: str, expected: str, got: object = None, *, declared: Iterable[str] | None = None
) -> ConfigurationError:
    """``<key>: expected <expected>, got <got>[; declared: a, b]`` as a ConfigurationError.

    ``got=None`` means the key is missing; ``declared`` lists what could have been named
    (e.g. the declared corpora).
    """
    found = "nothing (the key is missing)" if got is None else repr(got)
    message = f"{key}: expected {expected}, got {found}"
    if declared is not None:
        message += f"; declared: {', '.join(sorted(declared)) or 'none'}"
    return ConfigurationError(message)
