"""The command line against the fake Plex and catalog: `main(argv)` in process, one real process.

In process through `Env.run` and `run_main` (tests/cli_env.py);
`test_python_m_bot_runs_a_scan_in_its_own_process` keeps `python -m bot`
itself covered.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import time
from pathlib import Path

import pytest

from core.matcher.batch import PARALLEL_FROM
from tests.cli_env import Env, run_main
from tests.database import sqlite_only
from tests.fakes.plex import FakePlex


def seed(pms: FakePlex) -> None:
    pms.add_album(
        "Project Hail Mary",
        "Andy Weir",
        narrators=["Ray Porter"],
        guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en",
    )
    pms.add_album("The Tenant (Unabridged)", "Freida McFadden")
    pms.add_album("Foundation and Empire", "Isaac Asimov")


async def test_check_passes_against_healthy_services(env: Env) -> None:
    result = await env.run("check")
    assert result.code == 0, result.out + result.err
    assert "ok   plex server" in result.out
    assert f"{env.pms.section_id} = " in result.out
    assert "ok   audible catalog" in result.out
    assert env.pms.token not in result.out + result.err


async def test_check_fails_with_a_bad_token_and_names_it(env: Env) -> None:
    env.pms.identity_requires_token = True
    env.pms.token = "another-token-entirely"
    result = await env.run("check")
    assert result.code == 1
    assert "FAIL plex" in result.out
    assert "another-token-entirely" not in result.out + result.err


async def test_scan_prints_progress_on_stderr_and_summary_on_stdout(env: Env) -> None:
    seed(env.pms)
    result = await env.run("scan", "--full")
    assert result.code == 0, result.err
    assert "total: 3 books in the library" in result.out and "new: 3" in result.out
    assert "removed: 0" in result.out and "matched requests: 0" in result.out
    assert "books" in result.err  # the progress line
    again = await env.run("scan", "--recent", "--json")
    assert again.code == 0, again.err
    summary = json.loads(again.out)
    assert summary["mode"] == "recent" and summary["new"] == 0


async def test_scan_failure_exits_1_and_says_nothing_was_removed(env: Env) -> None:
    seed(env.pms)
    env.pms.fail_at_start = {0: 500}
    result = await env.run("scan")
    assert result.code == 1
    assert "nothing was removed" in result.err


async def test_match_single_and_json(env: Env) -> None:
    seed(env.pms)
    assert (await env.run("scan")).code == 0
    result = await env.run("match", "The Tenant", "--author", "Freida McFadden", "--json")
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert answer["matched"] is True
    assert answer["title"] == "The Tenant (Unabridged)"
    assert set(answer) == {"matched", "rating_key", "title", "score", "reason"}
    miss = json.loads(
        (await env.run("match", "Foundation", "--author", "Isaac Asimov", "--json")).out
    )
    assert miss["matched"] is False and miss["rating_key"] is None
    text = await env.run("match", "Project Hail Mary", "--asin", "B08G9PRS1K")
    assert text.out.startswith("matched: Project Hail Mary")


async def test_match_batch_keeps_input_order_and_flags_bad_lines(env: Env, tmp_path: Path) -> None:
    seed(env.pms)
    assert (await env.run("scan")).code == 0
    batch = tmp_path / "books.jsonl"
    batch.write_text(
        '{"title": "Project Hail Mary", "author": "Andy Weir"}\n'
        "not json\n"
        '{"title": "Dune Messiah", "author": "Frank Herbert"}\n'
        '{"asin": "B08G9PRS1K"}\n'
    )
    result = await env.run("match", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [line["matched"] for line in lines] == [True, False, False, True]
    assert lines[1]["reason"].startswith("invalid input: line 2")
    assert result.code == 2


async def test_a_big_batch_answers_every_line_in_order(env: Env, tmp_path: Path) -> None:
    """Enough lines for the worker pool (``core.matcher.batch``): order and bad lines hold."""
    seed(env.pms)
    assert (await env.run("scan")).code == 0
    present = '{"title": "Project Hail Mary", "author": "Andy Weir"}'
    absent = '{"title": "Dune Messiah", "author": "Frank Herbert"}'
    lines = [present if i % 3 else absent for i in range(PARALLEL_FROM + 40)]
    lines[77] = "[1, 2]"
    batch = tmp_path / "books.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    result = await env.run("match", "--batch", str(batch), "--json")
    answers = [json.loads(line) for line in result.out.splitlines()]
    assert len(answers) == len(lines)
    expected = [bool(i % 3) and i != 77 for i in range(len(lines))]
    assert [a["matched"] for a in answers] == expected
    assert answers[77]["reason"] == "invalid input: line 78: expected a JSON object"
    assert "error: line 78: expected a JSON object" in result.err
    assert result.code == 2


def test_missing_config_is_explained(tmp_path: Path) -> None:
    result = run_main(["check", "--config", str(tmp_path / "none.toml")])
    assert result.code == 2
    assert "none.toml: no such configuration file" in result.err
    assert "Traceback" not in result.err


async def test_run_without_discord_token_is_one_line(env: Env) -> None:
    result = await env.run("run")
    assert result.code == 2
    assert result.err.strip().startswith("error: no Discord token")
    assert len(result.err.strip().splitlines()) == 1


async def test_run_with_an_unusable_database_is_one_line(env: Env, database_url: str) -> None:
    text = env.config.read_text().replace(
        f'url = "{database_url}"', 'url = "sqlite:///dev/null/earmark.db"'
    )
    text = text.replace("[discord]\n", '[discord]\ntoken = "not-a-real-discord-token"\n')
    env.config.write_text(text)
    result = await env.run("run")
    assert result.code == 2
    lines = [line for line in result.err.strip().splitlines() if line.startswith("error:")]
    assert lines and lines[0].startswith("error: cannot open the database")
    assert "Traceback" not in result.err
    assert "not-a-real-discord-token" not in result.err


async def test_python_m_bot_runs_a_scan_in_its_own_process(env: Env) -> None:
    """The smoke test of the real entry point: `python -m bot scan`, exit code and streams."""
    seed(env.pms)
    result = await env.run_process("scan", "--full")
    assert result.code == 0, result.err
    assert "total: 3" in result.out and "new: 3" in result.out
    assert "books" in result.err  # the progress line
    assert env.pms.token not in result.out + result.err


@pytest.mark.parametrize(
    ("argv", "command", "config"),
    [
        (["--config", "a.toml"], "run", "a.toml"),
        (["run", "--config", "b.toml"], "run", "b.toml"),
        (["--config", "c.toml", "check"], "check", "c.toml"),
        (["scan", "--recent", "--config", "d.toml"], "scan", "d.toml"),
        (["match", "Dune"], "match", None),
    ],
)
def test_config_option_before_or_after_the_command(
    argv: list[str], command: str, config: str | None
) -> None:
    from bot.cli import build_parser

    args = build_parser().parse_args(argv)
    assert args.command == command
    assert getattr(args, "config", None) == config


# ----- paths and a setup without a config file ------------------------------------------------


@sqlite_only  # the database half is about a SQLite file; the key file half runs on SQLite too
async def test_relative_paths_follow_the_config_file_not_the_working_directory(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check --config /srv/earmark/config.toml` from /tmp must not make /tmp/data/earmark.db."""
    monkeypatch.delenv("EARMARK_SECRET_KEY")  # the key comes from the (relative) key file
    home = tmp_path / "srv" / "earmark"
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text(
        env.config.read_text()
        .replace(f'"sqlite://{tmp_path}/earmark.db"', '"sqlite://data/earmark.db"')
        .replace(f'"{tmp_path}/secret.key"', '"data/secret.key"')
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    seed(env.pms)
    scanned = await asyncio.to_thread(run_main, ["scan", "--config", str(config)])
    assert scanned.code == 0, scanned.err
    assert (home / "data" / "earmark.db").is_file()
    assert (home / "data" / "secret.key").is_file()
    assert list(elsewhere.iterdir()) == []
    # From yet another folder, a relative --config finds the same database and its books.
    monkeypatch.chdir(tmp_path)
    found = await asyncio.to_thread(
        run_main, ["match", "Project Hail Mary", "--json", "--config", "srv/earmark/config.toml"]
    )
    assert json.loads(found.out)["matched"] is True, found.out + found.err


def environment_only(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings of `env.config`, as EARMARK_* variables (database and key left default)."""
    monkeypatch.setenv("EARMARK_DISCORD_GUILD_IDS", "1")
    monkeypatch.setenv("EARMARK_PLEX_URL", env.pms.url)
    monkeypatch.setenv("EARMARK_PLEX_TOKEN", env.pms.token)
    monkeypatch.setenv("EARMARK_PLEX_LIBRARY_ID", env.pms.section_id)
    monkeypatch.setenv("EARMARK_CATALOG_AUDIBLE_URL", env.audible.url)


async def test_check_scan_and_match_work_from_the_environment_alone(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker and systemd: no config file at all; relative paths from the working directory."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    environment_only(env, monkeypatch)
    seed(env.pms)
    checked = await asyncio.to_thread(run_main, ["check"])
    assert checked.code == 0, checked.out + checked.err
    scanned = await asyncio.to_thread(run_main, ["scan"])
    assert scanned.code == 0, scanned.err
    assert "total: 3 books in the library" in scanned.out
    assert (workdir / "data" / "earmark.db").is_file()
    found = await asyncio.to_thread(run_main, ["match", "The Tenant", "--json"])
    assert json.loads(found.out)["matched"] is True


async def test_run_from_the_environment_alone_without_a_token_says_so(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "work"  # tmp_path holds env's config.toml
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    environment_only(env, monkeypatch)
    result = await asyncio.to_thread(run_main, ["run"])
    assert result.code == 2
    assert result.err.strip() == (
        "error: no Discord token: set [discord] token in config.toml or EARMARK_DISCORD_TOKEN"
    )


def test_no_config_file_and_no_environment_is_still_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("EARMARK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    result = run_main(["check"])
    assert result.code == 2
    assert result.err.startswith("error: config.toml: no such configuration file")
    assert list(tmp_path.iterdir()) == []  # no database, no key made on the way


# ----- command-line polish --------------------------------------------------------------------


async def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(env: Env) -> None:
    seed(env.pms)
    result = await env.run("scan", "--full")
    assert result.code == 0, result.err
    assert "\r" not in result.err
    lines = result.err.splitlines()
    assert "books 3/3" in lines
    assert all(line.strip() for line in lines)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_a_log_line_starts_afresh() -> None:
    from bot.progress import ProgressLine
    from core.library import ScanProgress

    screen = Terminal()
    progress = ProgressLine(screen)
    handler = logging.StreamHandler(screen)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.progress")
    logger.propagate = False
    logger.addHandler(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with progress.attach_to_logging():
            progress(ScanProgress("full", "books", 1, 3))
            progress(ScanProgress("full", "books", 2, 3))
            root.warning("Plex answered slowly")
            progress(ScanProgress("full", "books", 3, 3))
    finally:
        root.removeHandler(handler)
        logger.removeHandler(handler)
    text = screen.getvalue()
    assert text.count("\r") == 3
    assert "\nWARNING Plex answered slowly\n\rbooks" in text
    assert text.endswith("3/3   \n")  # the line is ended when the scan is over


async def test_recent_scan_says_what_its_count_is(env: Env) -> None:
    seed(env.pms)
    assert (await env.run("scan", "--full")).code == 0
    env.pms.add_album("Dune", "Frank Herbert")
    result = await env.run("scan", "--recent")
    assert result.code == 0, result.err
    assert "books checked: 2 (the newest in Plex)" in result.out
    assert "total:" not in result.out


async def test_match_against_an_empty_mirror_warns(env: Env) -> None:
    result = await env.run("match", "Dune", "--json")
    assert result.code == 0
    assert json.loads(result.out)["matched"] is False
    assert "warning: the library mirror is empty" in result.err
    assert "python -m bot scan" in result.err
    seed(env.pms)
    assert (await env.run("scan")).code == 0
    assert "warning" not in (await env.run("match", "Dune", "--json")).err


async def test_check_says_why_a_library_that_is_not_music_fails(env: Env) -> None:
    env.config.write_text(env.config.read_text().replace(
        f'library_id = "{env.pms.section_id}"', f'library_id = "{env.pms.movie_section_id}"'
    ))
    result = await env.run("check")
    assert result.code == 1
    assert (
        f"FAIL audiobook library: {env.pms.movie_section_id} = Movies is a movie library; "
        "audiobooks must be in a music library (type artist)"
    ) in result.out


def test_scan_modes_have_help_text() -> None:
    result = run_main(["scan", "--help"])
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "--full read the whole library" in text
    assert "--recent read only the newest additions" in text


# ----- health -----------------------------------------------------------------------------------


async def test_health_reads_the_configured_heartbeat_file(env: Env, tmp_path: Path) -> None:
    from bot.health import write_atomic

    result = await env.run("health")
    assert result.code == 2
    assert "no heartbeat file: set [health] file" in result.err
    env.config.write_text(env.config.read_text() + '[health]\nfile = "earmark.health"\n')
    result = await env.run("health")
    assert result.code == 1
    assert result.out.startswith(f"unhealthy: no health file at {tmp_path}/earmark.health")
    write_atomic(tmp_path / "earmark.health", {
        "written_at": time.time(), "connected": True, "database": True, "jobs": [],
    })
    result = await env.run("health")
    assert (result.code, result.out.split(":")[0]) == (0, "healthy")
    assert not (tmp_path / "earmark.db").exists()  # the check opened no database


def test_the_installed_earmark_command_is_the_cli() -> None:
    """`[project.scripts] earmark` (what the Docker image runs), beside `python -m bot`."""
    import subprocess

    command = Path(sys.executable).parent / "earmark"
    assert command.exists(), "reinstall: pip install -c constraints.txt -e '.[test]'"
    done = subprocess.run([str(command), "scan", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: earmark scan")
