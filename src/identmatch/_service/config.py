"""The HTTP service's configuration file: API keys (hashed) and request limits.

``service.toml`` looks like this::

    [limits]
    max_body_bytes = 1000000
    max_batch = 100
    max_top = 20
    lookups_per_day = 100          # every key's budget, unless the key sets its own

    [sources]
    childrens_services = "Children's services"

    [[keys]]
    id = "k3f9a1c2e"
    name = "case-system"
    role = "search"
    sha256 = "9b1d...e0"
    created = "2026-11-25T17:00:00Z"
    lookups_per_day = 2000         # this key's own budget (a team's case system)

The budgets (``lookups_per_minute``, ``lookups_per_day``, ``entity_reads_per_hour``,
``decisions_per_minute``, ``decisions_per_day``) default to a case worker's day: tens of
searches, a burst of a few a minute. A key may set any of them for itself.

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
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, ValidationError, field_validator

from identmatch._exceptions import ConfigError
from identmatch._types import Role

__all__ = ["BUDGETS", "ApiKey", "ServiceConfig", "ServiceLimits", "create_api_key"]

_TOKEN_PREFIX = "imk_"

BUDGETS = (
    "lookups_per_minute",
    "lookups_per_day",
    "entity_reads_per_hour",
    "decisions_per_minute",
    "decisions_per_day",
)
"""The budgets a key may set for itself, overriding the ``[limits]`` of every key."""


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

    lookups_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    """This key's own budgets (see :class:`ServiceLimits`); None: the ``[limits]`` one."""
    lookups_per_day: int | None = Field(default=None, ge=1, le=100_000_000)
    entity_reads_per_hour: int | None = Field(default=None, ge=1, le=1_000_000)
    decisions_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    decisions_per_day: int | None = Field(default=None, ge=1, le=100_000_000)

    def budget(self, name: str, limits: ServiceLimits) -> int:
        """The key's budget ``name`` (one of :data:`BUDGETS`): its own, else ``limits``'."""
        own = getattr(self, name)
        return int(own if own is not None else getattr(limits, name))

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
    lookups_per_minute: int = Field(default=10, ge=1, le=1_000_000)
    """Per key: most people searched plus entities read in any minute (429 beyond): the
    burst a person at a desk needs."""
    lookups_per_day: int = Field(default=100, ge=1, le=100_000_000)
    """Per key: most people searched plus entities read in any 24 hours (429 beyond): a
    case worker's day. A key serving a team or a system sets its own."""
    entity_reads_per_hour: int = Field(default=30, ge=1, le=1_000_000)
    """Per key: most ``GET /v1/entities/{id}`` reads in any hour (429 beyond)."""
    decisions_per_minute: int = Field(default=10, ge=1, le=1_000_000)
    """Per key: most ``POST /v1/decisions`` in any minute (429 beyond)."""
    decisions_per_day: int = Field(default=100, ge=1, le=100_000_000)
    """Per key: most ``POST /v1/decisions`` in any 24 hours (429 beyond)."""
    entity_read_hours: int = Field(default=24, ge=1, le=24 * 366)
    """A key may read an entity this many hours after its own search returned it."""
    header_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds from connecting (or from the first byte of a request) to its last header."""
    body_timeout: float = Field(default=30.0, gt=0, le=3_600)
    """Seconds from the last header to the last byte of the body."""
    keep_alive_timeout: float = Field(default=5.0, gt=0, le=300)
    """Seconds an idle connection is kept open between requests."""
    max_connections: int = Field(default=1_000, ge=1, le=100_000)
    """Open connections in all; at the cap an idle connection (no request in hand) is closed
    to make room for a new one, and the new one only when none is idle."""
    max_connections_per_client: int = Field(default=32, ge=1, le=100_000)
    """Open connections from one client address; one over it is closed at once."""
    worker_deadline: float = Field(default=5.0, gt=0, le=300)
    """Seconds a search worker (``serve --workers``) has to answer a search or a liveness
    check; past it the search is answered by the service process and the worker restarted."""
    max_connections_per_block: int = Field(default=128, ge=1, le=100_000)
    """Open connections from one address block (a /24 of IPv4, a /64 of IPv6); one over it
    is closed at once."""


SourceCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]
"""A record source's code as records give it (``childrens_services``)."""
SourceLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
"""A source's label on the page: 1-100 characters."""


class ServiceConfig(BaseModel, frozen=True, extra="forbid"):
    """Everything ``identmatch serve`` reads from ``service.toml``.

    Example::

        config = ServiceConfig.load("service.toml")
        key = config.authenticate(token)      # ApiKey or None
    """

    limits: ServiceLimits = ServiceLimits()
    keys: tuple[ApiKey, ...] = ()
    sources: dict[SourceCode, SourceLabel] = Field(default_factory=dict)
    """What each record source is called on the page, in plain words, by its code
    (``childrens_services = "Children's services"``). A source without a label is shown as
    its code in words (``Childrens services``)."""
    audit_key_file: str | None = None
    """The audit chain key's file (``identmatch audit new-key``), kept outside the index's
    directory; relative paths are from the config file's directory. None: the key made for
    the index at build (``serve --audit-key-file`` overrides both)."""
    audit_seal_file: str | None = None
    """A file the service appends the audit trail's head to every minute and at shutdown
    (``identmatch audit --verify --against`` checks it); keep it where the service cannot
    rewrite it (append-only, another volume). Relative paths as for ``audit_key_file``."""

    @field_validator("sources")
    @classmethod
    def _printable(cls, value: dict[str, str]) -> dict[str, str]:
        # Control and format characters (bidi controls reorder text) have no place in a label.
        for code, label in value.items():
            if any(unicodedata.category(c)[0] == "C" for c in code + label):
                msg = f"source {code!r}: code and label may not hold control or format characters"
                raise ValueError(msg)
        return value

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

    def key(self, key_id: str) -> ApiKey | None:
        """The key with id ``key_id``, or None (revoked, or never made)."""
        return next((key for key in self.keys if key.id == key_id), None)

    def budget(self, key_id: str, name: str) -> int:
        """Key ``key_id``'s budget ``name``: its own, else the ``[limits]`` one."""
        key = self.key(key_id)
        return key.budget(name, self.limits) if key is not None else getattr(self.limits, name)

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
        if self.sources:
            lines += ["", "[sources]"]
            # JSON strings are TOML basic strings (keys quoted the same way).
            lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in self.sources.items()]
        for key in self.keys:
            lines += ["", "[[keys]]"]
            for name, value in key.model_dump().items():
                if name in BUDGETS:
                    if value is not None:
                        lines.append(f"{name} = {int(value)}")
                else:
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
