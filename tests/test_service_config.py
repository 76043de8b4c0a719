"""The service config: keys stored hashed, created atomically, checked in constant time."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import identmatch
from identmatch._cli.main import cli


def test_created_key_is_stored_only_as_a_hash(tmp_path: Path) -> None:
    """The token authenticates, is not in the file, and the file is private to its owner."""
    path = tmp_path / "service.toml"
    key, token = identmatch.create_api_key(path, name="case-system", role="search")
    text = path.read_text(encoding="utf-8")
    assert token not in text
    assert key.sha256 in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = identmatch.ServiceConfig.load(path)
    assert config.authenticate(token) == key
    assert config.authenticate(token + "x") is None
    assert config.authenticate("") is None


def test_keys_accumulate_and_limits_survive(tmp_path: Path) -> None:
    """A second key is added beside the first; limits set by hand are kept."""
    path = tmp_path / "service.toml"
    path.write_text("[limits]\nmax_batch = 7\n", encoding="utf-8")
    _, first = identmatch.create_api_key(path, name="a", role="search")
    _, second = identmatch.create_api_key(path, name="b", role="write")
    config = identmatch.ServiceConfig.load(path)
    assert config.limits.max_batch == 7
    assert [k.role for k in config.keys] == ["search", "write"]
    assert config.authenticate(first) != config.authenticate(second)


def test_default_budgets_fit_a_case_worker_and_keys_set_their_own(tmp_path: Path) -> None:
    """Out of the box a key gets tens of lookups a day in bursts of ten; a [[keys]] entry may
    set its own budgets, which survive adding another key."""
    limits = identmatch.ServiceLimits()
    assert limits.lookups_per_day <= 100
    assert limits.lookups_per_minute <= 10
    assert limits.decisions_per_day <= 100
    assert limits.entity_reads_per_hour <= 30
    path = tmp_path / "service.toml"
    key, _ = identmatch.create_api_key(path, name="team", role="search")
    text = path.read_text(encoding="utf-8").replace(
        f'id = "{key.id}"', f'id = "{key.id}"\nlookups_per_day = 2000\ndecisions_per_day = 5'
    )
    path.write_text(text, encoding="utf-8")
    other, _ = identmatch.create_api_key(path, name="desk", role="search")
    config = identmatch.ServiceConfig.load(path)
    assert config.budget(key.id, "lookups_per_day") == 2000
    assert config.budget(key.id, "decisions_per_day") == 5
    assert config.budget(key.id, "lookups_per_minute") == limits.lookups_per_minute
    assert config.budget(other.id, "lookups_per_day") == limits.lookups_per_day
    path.write_text(text.replace("= 2000", "= 0"), encoding="utf-8")
    with pytest.raises(identmatch.ConfigError, match=r"keys\.0\.lookups_per_day"):
        identmatch.ServiceConfig.load(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[limits\n", "not a valid TOML"),
        ("[limits]\nmax_batch = 0\n", "limits.max_batch"),
        ("[limits]\nshoe_size = 9\n", "limits.shoe_size"),
        ('[[keys]]\nid = "k1"\n', "keys.0"),
    ],
)
def test_bad_config_is_refused_by_setting(tmp_path: Path, text: str, match: str) -> None:
    """A malformed file or an out-of-range or unknown setting is a ConfigError naming it."""
    path = tmp_path / "service.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(identmatch.ConfigError, match=match):
        identmatch.ServiceConfig.load(path)


def test_missing_config_and_bad_name(tmp_path: Path) -> None:
    """A missing file says how to make one; a key name with odd characters is refused."""
    with pytest.raises(identmatch.ConfigError, match="keys create"):
        identmatch.ServiceConfig.load(tmp_path / "none.toml")
    with pytest.raises(identmatch.ConfigError, match="key name"):
        identmatch.create_api_key(tmp_path / "s.toml", name="a\nb", role="search")


def test_source_labels_survive_new_keys(tmp_path: Path) -> None:
    """``[sources]`` labels (the page's plain words) are kept when keys are added."""
    path = tmp_path / "service.toml"
    path.write_text(
        '[sources]\nchildrens_services = "Children\'s services"\n"a b" = "Ward \\"A\\""\n',
        encoding="utf-8",
    )
    identmatch.create_api_key(path, name="a", role="search")
    config = identmatch.ServiceConfig.load(path)
    assert config.sources == {"childrens_services": "Children's services", "a b": 'Ward "A"'}
    assert len(config.keys) == 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[sources]\npolice = "\\u202eecilop"\n', "source 'police': .* format characters"),
        ('[sources]\npolice = ""\n', "sources.police"),
        ("[sources]\npolice = 3\n", "sources.police"),
    ],
)
def test_bad_source_labels_are_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "service.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(identmatch.ConfigError, match=match):
        identmatch.ServiceConfig.load(path)


def test_round_trip(tmp_path: Path) -> None:
    """to_toml then load gives the same config."""
    path = tmp_path / "service.toml"
    identmatch.create_api_key(path, name="x y", role="write")
    config = identmatch.ServiceConfig.load(path)
    path.write_text(config.to_toml(), encoding="utf-8")
    assert identmatch.ServiceConfig.load(path) == config


def test_cli_prints_the_key_once_on_its_last_line(tmp_path: Path) -> None:
    """`identmatch keys create` prints the token alone on the last line, and it works."""
    path = tmp_path / "service.toml"
    result = CliRunner().invoke(
        cli, ["keys", "create", "--config", str(path), "--role", "write", "--name", "feed"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[-1]
    assert token.startswith("imk_")
    assert " " not in token
    key = identmatch.ServiceConfig.load(path).authenticate(token)
    assert key is not None
    assert key.role == "write"
    assert token not in path.read_text(encoding="utf-8")


def test_keys_create_never_uses_a_planted_file(tmp_path: Path) -> None:
    """A 0666 file or a link planted where a temp file might go is neither used nor followed.

    Under umask 000, `keys create` still leaves ``service.toml`` 0600 and the planted files
    as they were.
    """
    import os
    import subprocess
    import sys

    path = tmp_path / "service.toml"
    planted = tmp_path / "service.toml.tmp"
    planted.write_text("", encoding="utf-8")
    planted.chmod(0o666)
    victim = tmp_path / "victim"
    victim.write_text("keep\n", encoding="utf-8")
    (tmp_path / ".service.toml.tmp").symlink_to(victim)
    command = Path(sys.executable).with_name("identmatch")
    for role in ("search", "write"):
        done = subprocess.run(
            [command, "keys", "create", "--config", path, "--role", role, "--name", role],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            preexec_fn=lambda: os.umask(0),  # only sets the child's umask, before exec
        )
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(identmatch.ServiceConfig.load(path).keys) == 2
    assert planted.read_text(encoding="utf-8") == ""
    assert stat.S_IMODE(planted.stat().st_mode) == 0o666
    assert victim.read_text(encoding="utf-8") == "keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".service.toml.tmp",
        "service.toml",
        "service.toml.tmp",
        "victim",
    ]


def test_config_writable_by_others_is_refused(tmp_path: Path) -> None:
    """A config other users could write (and so add a key to) is refused when loaded."""
    path = tmp_path / "service.toml"
    identmatch.create_api_key(path, name="feed", role="write")
    path.chmod(0o666)
    with pytest.raises(identmatch.ConfigError, match="writable by other users"):
        identmatch.ServiceConfig.load(path)
    path.chmod(0o640)
    assert len(identmatch.ServiceConfig.load(path).keys) == 1


@pytest.mark.parametrize(
    ("expires", "expired"),
    [("", False), ("2020-01-01", True), ("2999-12-31", False), ("2020-06-01T12:00:00Z", True)],
)
def test_expiry(tmp_path: Path, expires: str, expired: bool) -> None:
    """A key past its expiry does not authenticate; the date survives a round trip."""
    path = tmp_path / "service.toml"
    key, token = identmatch.create_api_key(path, name="desk", role="search", expires=expires)
    config = identmatch.ServiceConfig.load(path)
    assert config.keys[0].expires == expires
    assert (config.authenticate(token) is None) is expired
    assert key.expired() is expired


@pytest.mark.parametrize("expires", ["2026-13-01", "tomorrow", "2026-01-01T10:00"])
def test_bad_expiry_is_refused(tmp_path: Path, expires: str) -> None:
    """An expiry that is not a UTC date or time is refused, naming the format."""
    with pytest.raises(identmatch.ConfigError, match="expires must be YYYY-MM-DD"):
        identmatch.create_api_key(tmp_path / "s.toml", name="d", role="search", expires=expires)
