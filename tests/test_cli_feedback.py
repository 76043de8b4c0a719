"""What the ``identmatch`` command tells its user: what it could not read or use (and
``--strict`` refusing it), outputs checked before a run, progress, and help on every option.

Each runs the installed command on small real files.
"""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import threading
from pathlib import Path

import click
import pandas as pd
import pytest

import identmatch

from _support import installed_command, run

pytestmark = pytest.mark.slow


FORENAMES = ["Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Ivy", "Jack"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Khan", "Patel", "Wood"]


def people(n: int = 300) -> pd.DataFrame:
    """``n`` synthetic records, two per person, under other systems' column names."""
    rows = []
    for i in range(n):
        person = i // 2
        rows.append(
            {
                "record_id": f"r{i}",
                "source": "adults" if i % 3 else "children",
                "given_name": FORENAMES[person % len(FORENAMES)],
                "surname": f"{SURNAMES[person % len(SURNAMES)]}{person // 90 or ''}",
                "date_of_birth": f"{1 + person % 28:02d}/{1 + person % 12:02d}/"
                f"{1950 + person % 60}",
                "postcode": f"LS{1 + person % 20} {1 + person % 9}AB",
            }
        )
    return pd.DataFrame(rows)


MAPPED = ["--map", "given_name=forename", "--map", "date_of_birth=dob"]


class TestNotUsed:
    def test_lookalike_columns_are_named_with_the_map_to_give(self, tmp_path: Path) -> None:
        """given_name and date_of_birth without --map: the run says they were not used and
        which --map would use them; --strict refuses before anything is written."""
        people().to_csv(tmp_path / "p.csv", index=False)
        done = run("dedupe", "p.csv", "--out", "e.csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "did you mean --map given_name=forename?" in done.stderr
        assert "did you mean --map date_of_birth=dob?" in done.stderr
        assert "Not read or used (2;" in done.stderr

        strict = run("dedupe", "p.csv", "--out", "s.csv", "--strict", cwd=tmp_path)
        assert strict.returncode == 2
        assert "--strict: 2 thing(s) given cannot be read or used; nothing was run" in strict.stderr
        assert "--map given_name=forename" in strict.stderr
        assert "reading input" not in strict.stderr  # refused before the run started
        assert not (tmp_path / "s.csv").exists()

    def test_unreadable_dates_are_counted_with_rows_and_the_forms_read(
        self, tmp_path: Path
    ) -> None:
        """A date column of garbage: every value unread, the first rows named, the forms
        that are read listed; no value printed; --strict refuses it."""
        frame = people()
        frame["date_of_birth"] = [f"unknown-{i}" for i in range(len(frame))]
        frame.to_csv(tmp_path / "p.csv", index=False)
        done = run("dedupe", "p.csv", "--out", "e.csv", *MAPPED, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        line = next(x for x in done.stderr.splitlines() if x.strip().startswith("- dob:"))
        assert "300 of 300 values not read as dates" in line
        assert "source children rows 1, 4, 7, 10, 13, ..." in line
        assert "source adults rows 2, 3, 5, 6, 8, ..." in line
        assert "1987-03-25" in line  # the forms read
        assert "unknown-" not in done.stderr
        strict = run("dedupe", "p.csv", "--out", "s.csv", "--strict", *MAPPED, cwd=tmp_path)
        assert strict.returncode == 2
        assert "dob: 300 of 300 values not read as dates" in strict.stderr

    def test_numbers_as_names_are_not_names(self, tmp_path: Path) -> None:
        """A float surname column from Parquet (1.5) holds no valid name: counted, rows
        given, set to missing; --strict refuses it."""
        frame = people(200)
        frame["surname"] = [1.5 + i for i in range(len(frame))]
        frame.to_parquet(tmp_path / "p.parquet", index=False)
        done = run("dedupe", "p.parquet", "--out", "e.csv", *MAPPED, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        line = next(x for x in done.stderr.splitlines() if x.strip().startswith("- surname:"))
        assert "surname: 200 values are numbers, not names" in line
        assert "source children rows 1, 4, 7, 10, 13, ..." in line
        assert "6.5" not in done.stderr
        strict = run("dedupe", "p.parquet", "--out", "s.csv", "--strict", *MAPPED, cwd=tmp_path)
        assert strict.returncode == 2
        assert "surname: 200 values are numbers, not names" in strict.stderr

    def test_strict_in_the_run_config_file(self, tmp_path: Path) -> None:
        """strict = true in the config file refuses as --strict does."""
        people().to_csv(tmp_path / "p.csv", index=False)
        (tmp_path / "identmatch.toml").write_text("strict = true\n", encoding="utf-8")
        done = run("dedupe", "p.csv", "--out", "e.csv", "--config", "identmatch.toml", cwd=tmp_path)
        assert done.returncode == 2
        assert "--map date_of_birth=dob" in done.stderr
        assert not (tmp_path / "e.csv").exists()

    def test_map_typo_suggests_the_column_meant(self, tmp_path: Path) -> None:
        """--map given_nme=forename names the typo and the column meant."""
        people().to_csv(tmp_path / "p.csv", index=False)
        done = run("dedupe", "p.csv", "--out", "e.csv", "--map", "given_nme=forename", cwd=tmp_path)
        assert done.returncode == 2
        assert "did you mean --map given_name=forename?" in done.stderr

    @pytest.mark.parametrize(
        ("option", "value", "message"),
        [
            ("--out", "l.json", "must end in .csv or .parquet or .pq"),
            ("--pairs", "nowhere/p.csv", "no such directory"),
            ("--save-model", "m.csv", "must end in .json"),
        ],
    )
    def test_outputs_are_checked_before_the_run(
        self, tmp_path: Path, option: str, value: str, message: str
    ) -> None:
        """A wrong extension or a missing directory is refused before any record is read."""
        people().to_csv(tmp_path / "p.csv", index=False)
        args = ["--out", "e.csv"] if option != "--out" else []
        done = run("dedupe", "p.csv", *args, option, value, *MAPPED, cwd=tmp_path)
        assert done.returncode == 2
        assert option in done.stderr
        assert message in done.stderr
        assert "reading input" not in done.stderr


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """An index built by the command from the synthetic people (its output kept)."""
    base = tmp_path_factory.mktemp("feedback-index")
    people().to_csv(base / "p.csv", index=False)
    done = run("index", "build", "p.csv", "--index", "k.duckdb", *MAPPED, cwd=base)
    assert done.returncode == 0, done.stderr
    return base, done


class TestIndex:
    def test_build_prints_what_dedupe_prints(
        self, built: tuple[Path, subprocess.CompletedProcess[str]]
    ) -> None:
        """index build: progress, quality, candidates in words, entities by size and by
        source, and what was not used."""
        _, done = built
        for text in (
            "reading input...",
            "writing the index...",
            "Data quality (300 rows read)",
            "candidates share",
            "Entities by size",
            "By source",
            "Read and used every column and value given.",
            "indexed 300 records as",
        ):
            assert text in done.stderr, text
        assert "same " in done.stderr
        assert "name_ph_sorted" not in done.stderr
        assert "dob_md" not in done.stderr

    def test_index_add_strict(
        self, tmp_path: Path, built: tuple[Path, subprocess.CompletedProcess[str]]
    ) -> None:
        """index add warns of columns it cannot use and refuses them under --strict."""
        base, _ = built
        shutil.copyfile(base / "k.duckdb", tmp_path / "k.duckdb")
        extra = people(4).assign(record_id=lambda f: "new" + f["record_id"])
        extra.to_csv(tmp_path / "n.csv", index=False)
        refused = run("index", "add", "n.csv", "--index", "k.duckdb", "--strict", cwd=tmp_path)
        assert refused.returncode == 2
        assert "--map given_name=forename" in refused.stderr
        added = run("index", "add", "n.csv", "--index", "k.duckdb", *MAPPED, cwd=tmp_path)
        assert added.returncode == 0, added.stderr
        assert "added 4 records" in added.stderr

    def test_search_says_what_it_did_not_read_and_strict_refuses(
        self, tmp_path: Path, built: tuple[Path, subprocess.CompletedProcess[str]]
    ) -> None:
        """A date of birth that cannot be read is named (text and JSON); --strict refuses
        the search before it is run; --date-order reads an ambiguous date as asked."""
        base, _ = built
        shutil.copyfile(base / "k.duckdb", tmp_path / "k.duckdb")
        search = ["search", "--index", "k.duckdb", "--purpose", "case 7", "--surname", "Smith"]
        plain = run(*search, "--dob", "31/31/31", "--middle-names", "42", cwd=tmp_path)
        assert plain.returncode == 0, plain.stderr
        assert "not read: date of birth not read" in plain.stdout
        assert "not read: middle names not read: no letter in it: a number" in plain.stdout
        as_json = run(*search, "--dob", "31/31/31", "--json", cwd=tmp_path)
        assert as_json.returncode == 0, as_json.stderr
        import json

        document = json.loads(as_json.stdout)
        assert [u["field"] for u in document["unread"]] == ["dob"]
        assert {"hits", "weak", "unread"} == set(document)
        strict = run(*search, "--dob", "31/31/31", "--strict", cwd=tmp_path)
        assert strict.returncode == 2
        assert "nothing was searched" in strict.stderr
        assert "31/31/31" not in strict.stderr
        audit = run("audit", "--index", "k.duckdb", cwd=tmp_path)
        assert audit.stdout.count("\tsearch\t") == 2  # the refused search was not run
        queries = people(6).assign(record_id=lambda f: "q" + f["record_id"])
        queries.loc[2, "date_of_birth"] = "31/31/31"
        queries.to_csv(tmp_path / "q.csv", index=False)
        by_file = [*search[:5], "q.csv", "--out", "found.csv", *MAPPED]
        refused = run(*by_file, "--strict", cwd=tmp_path)
        assert refused.returncode == 2
        assert "dob: 1 of 6 values not read as dates" in refused.stderr
        assert "rows 3" in refused.stderr
        assert not (tmp_path / "found.csv").exists()
        found = run(*by_file, cwd=tmp_path)
        assert found.returncode == 0, found.stderr
        assert "not read: 1 result rows have fields given but not read" in found.stderr
        assert run("audit", "--index", "k.duckdb", cwd=tmp_path).stdout.count("\tsearch") == 3

    def test_search_date_order(
        self, tmp_path: Path, built: tuple[Path, subprocess.CompletedProcess[str]]
    ) -> None:
        """--date-order MDY reads 07/03/1980 as 3 July 1980, Amelia Brown's date of birth
        (person 30): the same date; read day-first (7 March) it is her date swapped."""
        base, _ = built
        shutil.copyfile(base / "k.duckdb", tmp_path / "k.duckdb")
        search = ["search", "--index", "k.duckdb", "--purpose", "case 8"]
        search += ["--forename", "Amelia", "--surname", "Brown", "--dob", "07/03/1980"]
        levels = {}
        for order in ("DMY", "MDY"):
            done = run(*search, "--date-order", order, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            assert "r60" in done.stdout
            levels[order] = next(x for x in done.stdout.splitlines() if "date of birth:" in x)
        assert "date of birth: day and month swapped" in levels["DMY"]
        assert "date of birth: the same" in levels["MDY"]


class TestProgress:
    def test_plain_lines_when_not_a_terminal(self, tmp_path: Path) -> None:
        """Into a pipe: one plain line per stage, no control codes, no bar."""
        people().to_csv(tmp_path / "p.csv", index=False)
        done = run("dedupe", "p.csv", "--out", "e.csv", *MAPPED, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        stages = [x for x in done.stderr.splitlines() if x.startswith("[") and "s] " in x]
        assert [x.split("] ", 1)[1] for x in stages][:2] == [
            "reading input...",
            "standardising 300 records...",
        ]
        assert "clustering..." in done.stderr
        assert "\x1b[" not in done.stderr
        assert "stages" not in done.stderr

    def test_a_bar_with_time_left_on_a_terminal(self, tmp_path: Path) -> None:
        """On a terminal (a pty): the stage bar with its count and time columns."""
        people().to_csv(tmp_path / "p.csv", index=False)
        code, shown = on_a_terminal(["dedupe", "p.csv", "--out", "e.csv", *MAPPED], tmp_path)
        assert code == 0, shown
        assert "\x1b[" in shown  # drawn by the terminal's control codes
        plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
        assert re.search(r"\d/6 stages", plain)
        assert "left" in plain
        assert "reading input..." in plain
        assert "Data quality" in plain

    def test_records_counted_as_prepare_goes(self, tmp_path: Path) -> None:
        """prepare counts the records done of a Parquet file's total: plain lines into a
        pipe, a records bar on a terminal."""
        people(2500).to_parquet(tmp_path / "p.parquet", index=False)
        args = ["prepare", "p.parquet", "--chunk-rows", "1000", *MAPPED]
        done = run(*args[:2], "parts", *args[2:], cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        counts = [x.split("] ", 1)[1] for x in done.stderr.splitlines() if "records done" in x]
        assert counts == [
            "1,000 of 2,500 records done",
            "2,000 of 2,500 records done",
            "2,500 of 2,500 records done",
        ]
        code, shown = on_a_terminal([*args[:2], "parts2", *args[2:]], tmp_path)
        assert code == 0, shown
        plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
        assert re.search(r"2500/2500 records", plain)
        assert "records done" not in plain


def on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run the command with its stderr on a pseudo-terminal; its code and what it drew."""
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [installed_command(), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        timeout=300,
        check=False,
    )
    os.close(follower)
    reader.join(timeout=30)
    os.close(leader)
    return done.returncode, b"".join(chunks).decode("utf-8", "replace")


def _commands(
    command: click.Command, path: tuple[str, ...] = ("identmatch",)
) -> list[tuple[str, click.Command]]:
    found = [(" ".join(path), command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _commands(sub, (*path, name))
    return found


class TestHelp:
    def test_every_option_of_every_command_has_help(self) -> None:
        """Walk the command tree: every option says what it does."""
        from identmatch._cli.main import cli

        missing = [
            f"{name} {'/'.join(param.opts)}"
            for name, command in _commands(cli)
            for param in command.params
            if isinstance(param, click.Option) and not (param.help or "").strip()
        ]
        assert missing == []

    def test_quiet_on_every_command_and_search_options(self) -> None:
        """--quiet on every command (serve's logs only warnings and errors); --date-order on
        search and index add; --json on search."""
        from identmatch._cli.main import cli

        def options(command: click.Command) -> set[str]:
            return {o for p in command.params if isinstance(p, click.Option) for o in p.opts}

        commands = dict(_commands(cli))
        leaves = [
            name
            for name, command in commands.items()
            if not isinstance(command, click.Group) or command.invoke_without_command
        ]
        assert [n for n in leaves if "--quiet" not in options(commands[n])] == []
        assert "--date-order" in options(commands["identmatch search"])
        assert "--date-order" in options(commands["identmatch index add"])
        assert "--json" in options(commands["identmatch search"])

    def test_decisions_help_names_its_subcommands(self, tmp_path: Path) -> None:
        """decisions' help names add and export, which are its subcommands."""
        done = run("decisions", "--help", cwd=tmp_path)
        assert done.returncode == 0
        first = done.stdout.split("Commands:")[0]
        assert "add one" in first
        assert "record," not in first
        listed = done.stdout.split("Commands:")[1].split()
        assert "add" in listed
        assert "export" in listed

    def test_shell_completion_as_documented(self, tmp_path: Path) -> None:
        """The completion script docs/cli.md gives is what the command prints."""
        env = {**os.environ, "_IDENTMATCH_COMPLETE": "bash_source"}
        done = subprocess.run(
            [installed_command()],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert "_identmatch_completion" in done.stdout
        docs = (Path(__file__).parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
        assert "_IDENTMATCH_COMPLETE=bash_source identmatch" in docs

    def test_cli_docs_cover_every_command(self) -> None:
        """docs/cli.md has a section for every command."""
        from identmatch._cli.main import cli

        docs = (Path(__file__).parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
        names = [name for name, _ in _commands(cli)][1:]
        assert [n for n in names if f"`{n}" not in docs] == []


def test_version_matches(tmp_path: Path) -> None:
    done = run("--version", cwd=tmp_path)
    assert identmatch.__version__ in done.stdout


def test_index_build_reports_stages_and_what_it_read(tmp_path: Path) -> None:
    """Index.build(progress=...) reports each stage, and the index it returns holds what the
    build read (the lookalike columns, unmapped) and the pairs it compared per rule."""
    stages: list[str] = []
    index = identmatch.Index.build(
        people(), tmp_path / "k.duckdb", columns={"given_name": "forename"}, progress=stages.append
    )
    try:
        assert stages[0] == "reading input"
        assert stages[-1] == "writing the index"
        assert "clustering" in stages
        assert index.built_quality is not None
        assert index.built_quality.rows == 300
        assert index.built_quality.unused_columns == {"date_of_birth": "dob"}
        assert index.built_blocking is not None
        assert index.built_blocking.pairs > 0
    finally:
        index.close()
    reopened = identmatch.Index.open(tmp_path / "k.duckdb")
    assert reopened.built_quality is None
    reopened.close()


def test_notes_name_counts_sources_and_rows_never_values() -> None:
    """The notes' wording: numbers among other unread names, sources escaped, rows cut at
    five with ..., nothing for a column read in full."""
    from identmatch._cli.notes import unused_notes

    quality = identmatch.DataQuality(
        rows=40,
        columns={
            "surname": identmatch.ColumnQuality(
                missing=1,
                invalid=9,
                wrong_type=2,
                unread=(
                    identmatch.Unread(source="a\tb", count=7, rows=(1, 2, 3, 4, 5)),
                    identmatch.Unread(count=2, rows=(9, 12)),
                ),
            ),
            "sex": identmatch.ColumnQuality(missing=3),
        },
        unused_columns={"Given Name": "forename"},
    )
    assert unused_notes(quality) == [
        "column Given Name: not used; it looks like forename: did you mean --map "
        "'Given Name=forename'?",
        "surname: 9 values not read, 2 of them numbers (set to missing; input, source a\\tb "
        "rows 1, 2, 3, 4, 5, ...; input rows 9, 12); allowed: a name with at least one letter",
    ]


def test_serve_quiet_logs_only_warnings(tmp_path: Path) -> None:
    """`serve --quiet`: no start-up lines and no access log, while a warning (a key past its
    budget) still reaches the log; without it, both are there."""
    from _support import start_service

    people().to_csv(tmp_path / "p.csv", index=False)
    index = tmp_path / "known.duckdb"
    built = run("index", "build", "p.csv", "--index", index, *MAPPED, "-q", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    config = tmp_path / "service.toml"
    config.write_text("[limits]\nlookups_per_minute = 1\n", encoding="utf-8")
    config.chmod(0o600)
    _, token = identmatch.create_api_key(config, name="desk", role="search")
    headers = {"Authorization": f"Bearer {token}"}
    body = {"purpose": "case 1", "person": {"surname": "Smith"}}
    logs = {}
    for extra in ((), ("--quiet",)):
        log = tmp_path / f"serve{len(extra)}.log"
        url, process = start_service(index, config, log, extra=extra)
        try:
            import httpx

            statuses = [httpx.post(url + "/v1/search", json=body, headers=headers).status_code]
            statuses.append(httpx.post(url + "/v1/search", json=body, headers=headers).status_code)
            assert statuses == [200, 429]
        finally:
            process.terminate()
            process.wait(timeout=60)
        logs[bool(extra)] = log.read_text(encoding="utf-8")
    assert "INFO" in logs[False]
    assert "POST /v1/search" in logs[False]  # the access log
    assert "ALERT" in logs[False]
    quiet = logs[True]
    assert "INFO" not in quiet
    assert '"POST /v1/search' not in quiet
    assert "ALERT key" in quiet  # warnings still reach the log
