"""Shared fixtures: a clean environment, the bundled data, and one hypothesis profile."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "identmatch",
    max_examples=100,
    deadline=None,  # standardisers warm caches on first use; timing is for benchmarks
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("identmatch")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No IDENTMATCH_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("IDENTMATCH_"):
            monkeypatch.delenv(name)
