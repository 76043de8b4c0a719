"""The public surface: one curated import path, complete and sorted ``__all__`` lists."""

from __future__ import annotations

import importlib

import pytest

import identmatch

PUBLIC_MODULES = [
    "identmatch",
    "identmatch.comparisons",
    "identmatch.standardisers",
    "identmatch.testing",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_complete(name: str) -> None:
    """Every public module lists its exports in a sorted __all__, and each one exists."""
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported)
    for item in exported:
        assert hasattr(module, item), item


def test_public_names_are_not_private() -> None:
    """Public functions and classes of the package report the module ``identmatch``."""
    for name in identmatch.__all__:
        obj = getattr(identmatch, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == "identmatch", name


def test_exception_tree() -> None:
    """Every identmatch error derives from IdentMatchError, and leaves from a fitting builtin."""
    for leaf, builtin in [
        (identmatch.SchemaError, ValueError),
        (identmatch.InputFileError, ValueError),
        (identmatch.ConfigError, ValueError),
        (identmatch.ModelError, ValueError),
        (identmatch.NotTrainedError, RuntimeError),
    ]:
        assert issubclass(leaf, identmatch.IdentMatchError)
        assert issubclass(leaf, builtin)
    assert issubclass(identmatch.BackendError, identmatch.IdentMatchError)


def test_version_matches_metadata() -> None:
    """__version__ comes from the installed package metadata."""
    from importlib.metadata import version

    assert identmatch.__version__ == version("identmatch")
