"""The HTTP service's configuration file: API keys (hashed) and request limits.

``service.toml`` looks like this::

    [limits]
    max_body_bytes = 1000000
    max_batch = 100
    max_top = 20

    [[keys]]
    id = "k3f9a1c2e"
    name = "case-system"
    role = "search"
    sha256 = "9b1d...e0"
    created = "2026-11-25T17:00:00Z"

API keys are 256-bit random tokens, so a plain SHA-256 of the token is as safe to store as
a slow password hash would be (nothing to guess), and checking it costs microseconds. The
token itself is shown once, when it is created, and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from identmatch._exceptions import ConfigError
from identmatch._types import Role

__all__ = ["ApiKey", "ServiceConfig", "ServiceLimits", "create_api_key"]

_TOKEN_PREFIX = "imk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiKey(BaseModel, frozen=True, extra="forbid"):
    """One API key as stored: its id, name, role and the SHA-256 of the token."""

    id: str = Field(pattern=r"^k[0-9a-f]{8}$")
    name: str = Field(pattern=r"^[A-Za-z0-9 ._@-]{1,100}$")
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created: str = ""
    """When the key was made (ISO 8601, UTC)."""
    expires: str = Field(default="", pattern=r"^(\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?)?$")
    """When the key stops working (``YYYY-MM-DD``, meaning its start, or ISO 8601 UTC with a
    ``Z``); empty: never."""

    @field_validator("expires")
    @classmethod
    def _a_real_date(cls, value: str) -> str:
        if value:
            datetime.strptime(value[:10], "%Y-%m-%d")  # ValueError: not a calendar date
        return value

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the key has expired at ``now`` (UTC; default: now)."""
        if not self.expires:
            return False
        moment = now or datetime.now(UTC)
        text = self.expires if "T" in self.expires else self.expires + "T00:00:00Z"
        return moment >= datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class ServiceLimits(BaseModel, frozen=True, extra="forbid"):
    """Request limits; larger requests are refused (413 or 422) before any work is done."""

    max_body_bytes: int = Field(default=1_000_000, ge=1_024, le=100_000_000)
    """Largest request body accepted, in bytes."""
    max_batch: int = Field(default=100, ge=1, le=10_000)
    """Most people in one batch search, and most records in one add."""
    max_top: int = Field(default=20, ge=1, le=100)
    """Most entities a search may ask for (``top``)."""
    lookups_per_minute: int = Field(default=600, ge=1, le=1_000_000)
    """Per key: most people searched plus entities read in any minute (429 beyond)."""
    lookups_per_day: int = Field(default=50_000, ge=1, le=100_000_000)
    """Per key: most people searched plus entities read in any 24 hours (429 beyond)."""
    entity_reads_per_hour: int = Field(default=300, ge=1, le=1_000_000)
    """Per key: most ``GET /v1/entities/{id}`` reads in any hour (429 beyond)."""
    entity_read_hours: int = Field(default=24, ge=1, le=24 * 366)
    """A key may read an entity this many hours after its own search returned it."""
    header_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds from connecting (or from the first byte of a request) to its last header."""
    body_timeout: float = Field(default=30.0, gt=0, le=3_600)
    """Seconds from the last header to the last byte of the body."""
    keep_alive_timeout: float = Field(default=5.0, gt=0, le=300)
    """Seconds an idle connection is kept open between requests."""
    max_connections: int = Field(default=1_000, ge=1, le=100_000)
    """Open connections in all; a connection over it is closed at once."""
    max_connections_per_client: int = Field(default=32, ge=1, le=100_000)
    """Open connections from one client address; one over it is closed at once."""


class ServiceConfig(BaseModel, frozen=True, extra="forbid"):
    """Everything ``identmatch serve`` reads from ``service.toml``.

    Example::

        config = ServiceConfig.load("service.toml")
        key = config.authenticate(token)      # ApiKey or None
    """

    limits: ServiceLimits = ServiceLimits()
    keys: tuple[ApiKey, ...] = ()
    audit_key_file: str | None = None
    """The audit chain key's file (``identmatch audit new-key``), kept outside the index's
    directory; relative paths are from the config file's directory. None: the key made for
    the index at build (``serve --audit-key-file`` overrides both)."""
    audit_seal_file: str | None = None
    """A file the service appends the audit trail's head to every minute and at shutdown
    (``identmatch audit --verify --against`` checks it); keep it where the service cannot
    rewrite it (append-only, another volume). Relative paths as for ``audit_key_file``."""

    @classmethod
    def load(cls, path: str | Path) -> ServiceConfig:
        """Read and validate a config file.

        Raises:
            ConfigError: the file is missing, writable by other users, not TOML, or has a
                bad or unknown setting.
        """
        target = Path(path)
        try:
            mode = target.stat().st_mode
            if mode & (stat.S_IWGRP | stat.S_IWOTH):
                # Whoever can write the file can add a key of their own.
                msg = (
                    f"{target}: writable by other users (mode {stat.S_IMODE(mode):o}); "
                    f"make it owner-only: chmod 600 {target}"
                )
                raise ConfigError(msg)
            data = tomllib.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            msg = f"{target}: no such service config; create one with 'identmatch keys create'"
            raise ConfigError(msg) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            msg = f"{target}: not a valid TOML file ({exc})"
            raise ConfigError(msg) from None
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            msg = f"{target}: {problems}"
            raise ConfigError(msg) from None
        for name in ("audit_key_file", "audit_seal_file"):
            value = getattr(config, name)
            if value is not None:
                resolved = target.parent / Path(value).expanduser()
                config = config.model_copy(update={name: str(resolved)})
        return config

    def authenticate(self, token: str) -> ApiKey | None:
        """The key whose hash matches ``token`` and has not expired, or None.

        Every key is compared in full, so the time taken says nothing about which matched.
        """
        digest = _digest(token)
        found = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.sha256):
                found = key
        if found is not None and found.expired():
            return None
        return found

    def to_toml(self) -> str:
        """The config as TOML text, as :meth:`load` reads it."""
        lines = [
            "# identmatch service configuration.",
            "# API keys are stored as SHA-256 hashes; create them with 'identmatch keys create'.",
            "",
        ]
        for name in ("audit_key_file", "audit_seal_file"):
            value = getattr(self, name)
            if value is not None:
                lines += [f"{name} = {json.dumps(value)}", ""]
        lines.append("[limits]")
        for name, value in self.limits.model_dump().items():
            lines.append(f"{name} = {json.dumps(value)}")
        for key in self.keys:
            lines += ["", "[[keys]]"]
            for name, value in key.model_dump().items():
                lines.append(f"{name} = {json.dumps(str(value))}")
        return "\n".join(lines) + "\n"


def create_api_key(
    path: str | Path, *, name: str, role: Role, expires: str = ""
) -> tuple[ApiKey, str]:
    """Make a new key, add its hash to the config at ``path`` and return it with its token.

    ``expires``: when it stops working (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SSZ``, UTC);
    empty for never.

    The file is created if missing and replaced atomically (written beside it under an
    unpredictable name, then renamed), readable by its owner only (see :func:`write_private`).

    Raises:
        ConfigError: the existing file is invalid, or ``name`` is not 1-100 characters of
            letters, digits, space, ``.``, ``_``, ``@`` or ``-``.
    """
    target = Path(path)
    config = ServiceConfig.load(target) if target.exists() else ServiceConfig()
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    used = {key.id for key in config.keys}
    key_id = "k" + secrets.token_hex(4)
    while key_id in used:  # pragma: no cover - 1 in 4 billion
        key_id = "k" + secrets.token_hex(4)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        key = ApiKey(
            id=key_id,
            name=name,
            role=role,
            sha256=_digest(token),
            created=created,
            expires=expires,
        )
    except ValidationError as exc:
        if any(e["loc"] == ("expires",) for e in exc.errors()):
            msg = "expires must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"
        else:
            msg = "key name must be 1-100 letters, digits, spaces or . _ @ -"
        raise ConfigError(msg) from None
    updated = config.model_copy(update={"keys": (*config.keys, key)})
    write_private(target, updated.to_toml())
    return key, token


def write_private(target: Path, text: str) -> None:
    """Replace ``target`` atomically with ``text``, in a new file only its owner can read.

    The new file gets an unpredictable name beside ``target``, created with ``O_EXCL`` (as
    :func:`tempfile.mkstemp` does), so a file or link planted there beforehand is never
    opened or followed, whatever its mode; the rename then replaces ``target`` itself (a
    link at ``target`` is replaced, not followed).
    """
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes it 0600 already; say so where we can
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
