"""Service commands: serve, API keys and the audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

import identmatch
from identmatch._cli.common import (
    AUDIT_KEY_FILE,
    DATES,
    INDEX_FILE,
    PURPOSE,
    QUIET,
    URL,
    call_service,
    checked_purpose,
    cli_key,
    one_field,
    open_audit_log,
    read_key,
    say,
    write_private_text,
)
from identmatch._cli.group import cli


@cli.command()
@click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The index file to serve (DuckDB).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The service config (TOML): API keys (hashed) and limits; see 'keys create'.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; anything but loopback needs HTTPS (--ssl-certfile).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port to listen on (0: any free port).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log each request's method, path and status (never bodies or query strings).",
)
@click.option(
    "--docs/--no-docs",
    default=False,
    show_default=True,
    help="Serve the OpenAPI description and its pages (/openapi.json, /docs, /redoc).",
)
@click.option("--ssl-certfile", type=click.Path(path_type=Path), help="Serve HTTPS: certificate.")
@click.option("--ssl-keyfile", type=click.Path(path_type=Path), help="Serve HTTPS: private key.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Search worker processes, each with its own copy of the index in memory (about "
    "2 GiB a million records); 0 searches in the service process itself.",
)
@AUDIT_KEY_FILE
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Log only warnings and errors (alerts, refusals the log reports): no start-up lines "
    "and no access log.",
)
def serve(
    index_path: Path,
    config_path: Path,
    host: str,
    port: int,
    access_log: bool,
    docs: bool,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    workers: int,
    audit_key_file: Path | None,
    quiet: bool,
) -> None:
    """Serve --index over HTTP, with the API keys and limits in --config.

    The audit chain key: --audit-key-file (or IDENTMATCH_AUDIT_KEY_FILE), else
    audit_key_file in --config, else the index's own. SIGTERM or SIGINT stop it cleanly;
    SIGHUP reloads the keys from --config.
    """
    try:
        from identmatch._service.server import serve as run
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    run(
        index_path,
        config_path,
        host=host,
        port=port,
        access_log=access_log,
        docs=docs,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        workers=workers,
        audit_key_file=audit_key_file,
        quiet=quiet,
    )


@cli.group()
def keys() -> None:
    """Manage the service's API keys (stored hashed in the config file)."""


@keys.command("create")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The service config (TOML) to add the key to; created if missing.",
)
@click.option(
    "--role",
    type=click.Choice(["search", "review", "write", "audit"]),
    required=True,
    help="What the key may do: search; review (search, the review queue, decisions); "
    "write (add, update, remove records); audit (read the audit trail).",
)
@click.option("--name", required=True, help="Who or what uses the key, e.g. case-system.")
@click.option(
    "--expires",
    default="",
    metavar="DATE",
    help="When the key stops working: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC).",
)
@QUIET
def keys_create(config_path: Path, role: str, name: str, expires: str, quiet: bool) -> None:
    """Create a key; it is printed once, alone on the last line, and stored only hashed.

    A running service picks it up on SIGHUP (kill -HUP PID), as it does a revoked key.
    """
    key, token = identmatch.create_api_key(
        config_path,
        name=name,
        role=role,  # type: ignore[arg-type]
        expires=expires,
    )
    until = f", expires {key.expires}" if key.expires else ""
    if not quiet:
        click.echo(f"created key {key.id} ({key.role}) named {key.name!r}{until} in {config_path}")
        click.echo("store it now: it is not kept and cannot be shown again")
    click.echo(token)


@cli.group(invoke_without_command=True)
@click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    help="The index file whose trail to list or check; or give --url.",
)
@URL
@click.option("--since", type=DATES, help="Only entries at or after this time (UTC).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--verify",
    is_flag=True,
    help="Check the hash chain instead of listing (under the index's own key, or "
    "--audit-key-file); exit 1 if broken.",
)
@click.option(
    "--seal-to",
    "seal_to",
    type=click.Path(path_type=Path),
    help="With --verify: append the trail's head (entries, last id and hash) to this file "
    "when intact; keep it where the index's writers cannot rewrite it.",
)
@click.option(
    "--against",
    "against",
    type=click.Path(path_type=Path),
    help="With --verify: also check every seal of this trail in this file (catches newer "
    "entries removed).",
)
@AUDIT_KEY_FILE
@QUIET
@click.pass_context
def audit(
    ctx: click.Context,
    index_path: Path | None,
    url: str | None,
    since: Any,
    as_json: bool,
    verify: bool,
    seal_to: Path | None,
    against: Path | None,
    audit_key_file: Path | None,
    quiet: bool,
) -> None:
    """List the audit trail of --index: who searched or changed what, when and why.

    Or check its chain (--verify), purge old entries (audit purge), answer a subject access
    request (audit subject) or make a chain key (audit new-key).
    """
    if ctx.invoked_subcommand is not None:
        return
    if index_path is None and url is None:
        msg = "give --index or --url (or a subcommand: purge, subject, new-key)"
        raise click.UsageError(msg)
    if url is not None:
        if verify or index_path is not None:
            msg = "--url lists the trail of a running service; --verify needs --index"
            raise click.UsageError(msg)
        _print_entries(_remote_entries(url, since), as_json)
        return
    assert index_path is not None
    if (seal_to is not None or against is not None) and not verify:
        msg = "--seal-to and --against go with --verify"
        raise click.UsageError(msg)
    if verify:
        key = read_key(audit_key_file)
        report = identmatch.AuditLog.verify(index_path, key, against=against)
        for problem in report.problems:
            click.echo(f"broken: {problem}")
        if report.older:
            click.echo(
                f"{report.older} unchained entries before entry {report.first} (written by an "
                "older release, before the chain was on)"
            )
        click.echo(
            f"{report.entries} entries, {report.chained} chained; last {report.last_id}, "
            f"head {report.head or '-'}"
        )
        if not report.ok:
            ctx.exit(1)
        if seal_to is not None:
            identmatch.AuditLog.seal(index_path, seal_to, key)
            if not quiet:
                click.echo(f"chain intact; head sealed to {seal_to}")
            return
        if not quiet:
            click.echo("chain intact (seal the head elsewhere, --seal-to, to catch truncation)")
        return
    _print_entries(identmatch.AuditLog.read(index_path, since=since), as_json)


def _remote_entries(url: str, since: Any) -> list[identmatch.AuditEntry]:
    """The whole trail of a running service, a page at a time (role ``audit``)."""
    entries: list[identmatch.AuditEntry] = []
    after: int | None = 0
    while after is not None:
        params: dict[str, Any] = {"after": after, "limit": 10_000}
        if since is not None:
            params["since"] = since.strftime("%Y-%m-%dT%H:%M:%S")
        page = call_service(url, "GET", "/v1/audit", params=params)
        entries += [identmatch.AuditEntry.model_validate(e) for e in page["entries"]]
        after = page["next_after"]
    return entries


def _print_entries(entries: list[identmatch.AuditEntry], as_json: bool) -> None:
    for entry in entries:
        if as_json:
            # ASCII escapes: a purpose may hold any character, line separators included,
            # and each entry must stay on one line whatever splits the lines.
            click.echo(json.dumps(entry.model_dump(mode="json"), separators=(",", ":")))
            continue
        click.echo(
            f"{entry.audit_id}\t{entry.logged_at:%Y-%m-%dT%H:%M:%S}Z\t{entry.key_id}\t"
            f"{entry.action}\t{one_field(entry.purpose) or '-'}\t{entry.fingerprint or '-'}\t"
            f"{','.join(entry.entity_ids) or '-'}\t{','.join(entry.record_ids) or '-'}\t"
            f"{one_field(entry.detail) or '-'}"
        )


@audit.command("new-key")
@click.argument("path", type=click.Path(path_type=Path))
@QUIET
def audit_new_key(path: Path, quiet: bool) -> None:
    """Write a new audit chain key to PATH (owner-only; never overwrites a file).

    Keep it outside the index's directory and backups; every writer of the index (the
    service, the CLI) then needs it.
    """
    identmatch.AuditLog.new_key(path)
    say(f"wrote a new audit chain key to {path}", quiet)


@audit.command("purge")
@INDEX_FILE
@click.option("--before", type=DATES, required=True, help="Remove entries before this (UTC).")
@AUDIT_KEY_FILE
@QUIET
def audit_purge(index_path: Path, before: Any, audit_key_file: Path | None, quiet: bool) -> None:
    """Remove audit entries logged before --before (retention); the chain stays checkable."""
    opened = identmatch.Index.open(index_path)
    try:
        log = open_audit_log(opened, audit_key_file)
        removed = log.purge(before)
        log.close()
    finally:
        opened.close()
    if not quiet:
        click.echo(f"removed {removed:,} audit entries logged before {before:%Y-%m-%d %H:%M:%S}")


@audit.command("subject")
@INDEX_FILE
@click.option("--entity", "entity_id", required=True, help="The entity (person) asking.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="JSON file.")
@PURPOSE
@AUDIT_KEY_FILE
@QUIET
def audit_subject(
    index_path: Path,
    entity_id: str,
    out: Path,
    purpose: str,
    audit_key_file: Path | None,
    quiet: bool,
) -> None:
    """Subject access: every record of one entity, and every audit entry about it (JSON)."""
    purpose = checked_purpose(purpose)
    opened = identmatch.Index.open(index_path)
    try:
        log = open_audit_log(opened, audit_key_file)
        records = opened.entity(entity_id)
        if records.empty:
            msg = f"no entity {entity_id} in the index"
            raise click.BadParameter(msg, param_hint="--entity")
        ids = [str(r) for r in records["record_id"]]
        entries = log.about(entity_id, ids)
        rows = json.loads(records.to_json(orient="records", force_ascii=True))
        document = {
            "entity_id": entity_id,
            "records": rows,
            "audit": [e.model_dump(mode="json") for e in entries],
        }
        write_private_text(out, json.dumps(document, indent=1, ensure_ascii=True) + "\n")
        log.write(
            key_id=cli_key(),
            action="export",
            purpose=purpose,
            entity_ids=[entity_id],
            record_ids=ids,
            detail="subject access",
        )
        log.close()
    finally:
        opened.close()
    say(f"wrote {len(ids)} records and {len(entries)} audit entries to {out}", quiet)
