"""identmatch: find the same person across records that disagree."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from identmatch._exceptions import *  # noqa: F403
from identmatch._exceptions import __all__ as _exceptions_all

try:
    __version__ = version("identmatch")
except PackageNotFoundError:  # pragma: no cover - only when run from a bare source tree
    __version__ = "0+unknown"

__all__ = sorted(["__version__", *_exceptions_all])
