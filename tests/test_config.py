"""Config loading: typed values, environment overrides, origins and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_example_config_loads_with_defaults() -> None:
    settings = load_settings(Path(__file__).parents[1] / "config.example.toml", env={})
    assert settings.scan.recently_added_minutes == 5
    assert settings.scan.full_scan_hours == 6
    root = Path(__file__).resolve().parents[1]
    assert settings.database.url == f"sqlite://{root}/data/earmark.db"
    assert settings.plex.tv_url == "https://plex.tv"
    assert settings.requests.max_open_per_user == 10
    assert not settings.is_pinned("plex.url")  # empty values pin nothing


def test_values_are_typed_and_origins_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[discord]
token = "abc.def.ghi"
guild_ids = [111111111111111111]
[plex]
url = "http://127.0.0.1:32400/"
library_id = 7
[scan]
recently_added_minutes = 0.5
""",
    )
    settings = load_settings(path, env={})
    assert settings.discord.guild_ids == (111111111111111111,)
    assert settings.plex.url == "http://127.0.0.1:32400"
    assert settings.plex.library_id == "7"
    assert settings.scan.recently_added_minutes == 0.5
    assert settings.origin("plex.url") == "file"
    assert settings.origin("plex.token") == "default"
    assert settings.is_pinned("plex.library_id")
    assert settings.secrets() == ["abc.def.ghi"]


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[discord]\ntoken = "from-file"\n')
    env = {
        "EARMARK_DISCORD_TOKEN": "from-env",
        "EARMARK_DISCORD_GUILD_IDS": "1, 2",
        "EARMARK_SCAN_FULL_SCAN_HOURS": "0.25",
    }
    settings = load_settings(path, env=env)
    assert settings.discord.token == "from-env"
    assert settings.discord.guild_ids == (1, 2)
    assert settings.scan.full_scan_hours == 0.25
    assert settings.origin("discord.token") == "env"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[plex]\nproduct = "Mine"\n')
    settings = load_settings(None, env={"EARMARK_CONFIG": str(path)})
    assert settings.plex.product == "Mine"
    assert settings.path == path


def test_missing_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope.toml", env={})
    assert "nope.toml" in str(err.value)
    assert "config.example.toml" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[scan]\nfull_scan_hours = "six"\n', "[scan] full_scan_hours: expected a number of hours"),
        ("[scan]\nrecently_added_minutes = -1\n", "expected a number of minutes"),
        ("[discord]\nguild_ids = 5\n", "[discord] guild_ids: expected a list of Discord ids"),
        ("[discord]\nguild_ids = [\"x\"]\n", "expected a list of Discord ids"),
        ("[plex]\nurl = \"plex.local\"\n", "[plex] url: expected a URL"),
        ("[plex]\ntokn = \"x\"\n", "unknown key [plex] tokn"),
        ("[plexx]\nurl = \"x\"\n", "unknown section [plexx]"),
        ("[catalog]\nregion = \"mars\"\n", "[catalog] region: expected one of"),
        ("[database]\nurl = \"mysql://x\"\n", "[database] url: expected a database URL"),
        ("[requests]\nmax_open_per_user = 0\n", "expected a whole number from 1 to"),
        ("[plex\nurl = 1\n", "not valid TOML"),
    ],
)
def test_bad_values_name_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match="EARMARK_SCAN_FULL_SCAN_HOURS: expected a number of"):
        load_settings(path, env={"EARMARK_SCAN_FULL_SCAN_HOURS": "often"})


def test_bad_token_value_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, "[plex]\ntoken = 123456789\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "123456789" not in str(err.value)


MINUTES = "a number of minutes between 0.0167 (1 second) and 43200 (30 days)"
HOURS = "a number of hours between 0.000278 (1 second) and 720 (30 days)"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("recently_added_minutes", "0.000001", MINUTES),  # 75% CPU, 1,370 polls in 10 s
        ("recently_added_minutes", "0", MINUTES),
        ("recently_added_minutes", "43201", MINUTES),
        ("recently_added_minutes", "nan", MINUTES),
        ("recently_added_minutes", "inf", MINUTES),
        ("full_scan_hours", "3e10", HOURS),  # OverflowError in the full-scan job
        ("full_scan_hours", "0.0001", HOURS),
        ("full_scan_hours", "721", HOURS),
        ("full_scan_hours", "true", HOURS),
    ],
)
def test_scan_intervals_below_a_second_or_above_30_days_are_refused(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    path = write(tmp_path, f"[scan]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(err.value).startswith(f"{path}: [scan] {key}: expected {expected}, got ")
    name = f"EARMARK_SCAN_{key.upper()}"
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, ""), env={name: value})
    assert str(err.value) == f"environment {name}: expected {expected}, got {value!r}"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("recently_added_minutes", 1 / 60),  # exactly one second
        ("recently_added_minutes", 43200),  # exactly 30 days
        ("full_scan_hours", 720),
        ("full_scan_hours", 1 / 3600),
    ],
)
def test_scan_interval_bounds_are_accepted(tmp_path: Path, key: str, value: float) -> None:
    settings = load_settings(write(tmp_path, f"[scan]\n{key} = {value!r}\n"), env={})
    assert getattr(settings.scan, key) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[requests]\nmax_open_per_user = -3\n", "max_open_per_user: expected a whole number"),
        ("[requests]\nmax_open_per_user = 2.5\n", "max_open_per_user: expected a whole number"),
        ("[requests]\nmax_open_per_user = 1000001\n", "expected a whole number from 1 to"),
        ("[discord]\nguild_ids = [-5]\n", "expected a list of Discord ids"),
        ("[discord]\nguild_ids = [18446744073709551616]\n", "expected a list of Discord ids"),
        ("[discord]\nadmin_role_ids = [0]\n", "expected a list of Discord ids"),
    ],
)
def test_other_numeric_nonsense_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings(write(tmp_path, text), env={})


def test_max_open_per_user_from_environment_is_checked_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="EARMARK_REQUESTS_MAX_OPEN_PER_USER: expected a whole"):
        load_settings(write(tmp_path, ""), env={"EARMARK_REQUESTS_MAX_OPEN_PER_USER": "-1"})


# ----- paths: relative to the config file's folder, or to the working directory without one ----


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "srv" / "earmark"
    folder.mkdir(parents=True)
    path = folder / "config.toml"
    path.write_text(
        '[database]\nurl = "sqlite://data/earmark.db"\n'
        '[security]\nkey_file = "data/secret.key"\n'
        '[health]\nfile = "data/earmark.health"\n'
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings(path, env={})
    assert settings.database.url == f"sqlite://{folder}/data/earmark.db"
    assert settings.security.key_file == str(folder / "data" / "secret.key")
    assert settings.health.file == str(folder / "data" / "earmark.health")
    # A relative --config path is taken from the working directory, then its folder is the base.
    relative = load_settings("srv/earmark/config.toml", env={})
    assert relative.database.url == f"sqlite://{folder}/data/earmark.db"


def test_defaults_resolve_against_the_config_folder_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "")
    monkeypatch.chdir("/")
    settings = load_settings(path, env={})
    assert settings.database.url == f"sqlite://{tmp_path}/data/earmark.db"
    assert settings.security.key_file == str(tmp_path / "data" / "secret.key")
    assert not settings.is_pinned("database.url")
    assert settings.health.file == ""  # no heartbeat unless asked for


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///abs/earmark.db", "sqlite:///abs/earmark.db"),
        ("sqlite://:memory:", "sqlite://:memory:"),
        ("postgres://u:p@db/earmark", "postgres://u:p@db/earmark"),
        ("sqlite://db.sqlite?journal_mode=wal", "sqlite://{base}/db.sqlite?journal_mode=wal"),
        ("sqlite://~/earmark.db", "sqlite://{home}/earmark.db"),
    ],
)
def test_absolute_memory_and_server_urls_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write(tmp_path, f'[database]\nurl = "{url}"\n[security]\nkey_file = "/k/secret.key"\n')
    settings = load_settings(path, env={})
    assert settings.database.url == expected.format(base=tmp_path, home=tmp_path / "home")
    assert settings.security.key_file == "/k/secret.key"


def test_environment_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "")
    monkeypatch.chdir("/")
    settings = load_settings(path, env={"EARMARK_SECURITY_KEY_FILE": "keys/k"})
    assert settings.security.key_file == str(tmp_path / "keys" / "k")
    assert settings.origin("security.key_file") == "env"


# ----- a setup from the environment alone -----------------------------------------------------


def test_environment_alone_works_without_a_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        None, env={"EARMARK_DISCORD_TOKEN": "abc", "EARMARK_DISCORD_GUILD_IDS": "1"}
    )
    assert settings.path is None
    assert settings.discord.token == "abc" and settings.discord.guild_ids == (1,)
    # Without a file, relative paths resolve against the working directory.
    assert settings.database.url == f"sqlite://{tmp_path}/data/earmark.db"
    assert settings.security.key_file == str(tmp_path / "data" / "secret.key")


def test_no_file_and_no_environment_is_still_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings(None, env={"EARMARK_SECRET_KEY": "not a setting", "HOME": "/root"})
    assert "config.toml: no such configuration file" in str(err.value)
    assert "EARMARK_" in str(err.value)  # names the file-less way too


@pytest.mark.parametrize("how", ["option", "variable"])
def test_a_named_file_that_is_missing_is_an_error_even_with_environment(
    tmp_path: Path, how: str
) -> None:
    missing = str(tmp_path / "typo.toml")
    env = {"EARMARK_DISCORD_TOKEN": "abc"}
    with pytest.raises(ConfigError, match=r"typo\.toml: no such configuration file"):
        if how == "option":
            load_settings(missing, env=env)
        else:
            load_settings(None, env={**env, "EARMARK_CONFIG": missing})


def test_follow_check_hours_default_and_bounds(tmp_path: Path) -> None:
    """`[follow] check_hours` defaults to a day and is validated like the scan intervals."""
    assert load_settings(write(tmp_path, ""), env={}).follow.check_hours == 24
    good = tmp_path / "good.toml"
    good.write_text("[follow]\ncheck_hours = 0.5\n")
    assert load_settings(good, env={}).follow.check_hours == 0.5
    bad = tmp_path / "bad.toml"
    bad.write_text("[follow]\ncheck_hours = 3e10\n")
    with pytest.raises(ConfigError, match=r"\[follow\] check_hours"):
        load_settings(bad, env={})
