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


KEY_DIR = "IDENTMATCH_AUDIT_KEY_DIR"


@pytest.fixture(scope="session", autouse=True)
def _audit_key_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Audit chain keys made at build go to a directory of the test run's own (before any
    fixture builds an index), never to the developer's ~/.config; commands run by the tests
    inherit it."""
    os.environ[KEY_DIR] = str(tmp_path_factory.mktemp("audit-keys"))


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No IDENTMATCH_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("IDENTMATCH_") and name != KEY_DIR:
            monkeypatch.delenv(name)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--spark-training",
        action="store_true",
        help="also run the tests that train on local Spark (1-2 minutes each)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--spark-training"):
        return
    skip = pytest.mark.skip(reason="training on local Spark takes 1-2 min each; --spark-training")
    for item in items:
        if "spark_training" in item.keywords:
            item.add_marker(skip)
