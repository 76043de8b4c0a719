"""Helpers shared by test modules: the bundled FEBRL files and their column mapping."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data"


def read_febrl(name: str) -> pd.DataFrame:
    """A FEBRL file with its true person id (``rec-N-...`` shares N) in ``true_id``."""
    frame = pd.read_csv(DATA / name, dtype=str, skipinitialspace=True, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    frame["true_id"] = frame["rec_id"].str.extract(r"rec-(\d+)-")[0]
    return frame


FEBRL_COLUMNS = {
    "rec_id": "record_id",
    "given_name": "forename",
    "surname": "surname",
    "date_of_birth": "dob",
    "postcode": "postcode",
    "street_number": "address",
    "address_1": "address",
    "address_2": "address",
    "suburb": "town",
}
"""How FEBRL's columns map to identmatch's (soc_sec_id is left out on purpose)."""


def installed_command() -> str:
    """The installed console script next to this interpreter (as `pip install` made it)."""
    candidate = Path(sys.executable).with_name("identmatch")
    found = str(candidate) if candidate.exists() else shutil.which("identmatch")
    assert found, "the identmatch command is not installed"
    return found


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command with ``args`` in ``cwd``, its output captured as text."""
    return subprocess.run(
        [installed_command(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    index: Path, config: Path, log: Path, *, extra: tuple[str, ...] = ()
) -> tuple[str, subprocess.Popen[bytes]]:
    """`identmatch serve` (the installed command) on 127.0.0.1, once it is ready; ``extra``
    options are added to the command.

    A config that sets no ``[limits]`` of its own gets a test suite's budgets (the defaults
    are a case worker's day, which one test module's traffic from one key outruns); the
    budgets themselves are tested with their own configs.
    """
    import sys
    import time

    import httpx

    from identmatch._service.config import ServiceConfig, ServiceLimits, write_private

    loaded = ServiceConfig.load(config)
    if loaded.limits == ServiceLimits():
        roomy = ServiceLimits(
            lookups_per_minute=100_000,
            lookups_per_day=10_000_000,
            entity_reads_per_hour=100_000,
            decisions_per_minute=100_000,
            decisions_per_day=10_000_000,
        )
        write_private(config, loaded.model_copy(update={"limits": roomy}).to_toml())

    port = free_port()
    command = Path(sys.executable).with_name("identmatch")
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                *(str(command), "serve", "--index", str(index), "--config", str(config)),
                *("--host", "127.0.0.1", "--port", str(port), *extra),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                return url, process
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "service did not start"
        time.sleep(0.2)


_LOOKALIKES = str.maketrans(
    "aeopcxyisjABEHKMOPCTX", "аеорсхуіѕјАВЕНКМОРСТХ"
)  # Latin -> the Cyrillic letter that looks the same


def disguised(name: str) -> str:
    """``name`` with each Latin letter that has a Cyrillic twin written as that twin:
    ``"Benedict"`` -> ``"Веnеdісt"``, the same on a page, hardly a letter shared."""
    return name.translate(_LOOKALIKES)
