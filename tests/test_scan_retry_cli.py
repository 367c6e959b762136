"""What a user meets: ``python -m bot scan --full`` rides out one Plex hiccup (a subprocess)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tests.fakes.plex import FakePlex

ROOT = Path(__file__).resolve().parents[1]


async def test_full_scan_completes_through_one_transient_500(
    tmp_path: Path, database_url: str
) -> None:
    async with FakePlex() as pms:
        pms.make_synthetic(1200, seed=11)  # three album pages of 500
        fault = pms.fail_page(500, 500, listing="9")  # the second page fails once
        config = tmp_path / "config.toml"
        config.write_text(
            f'[plex]\nurl = "{pms.url}"\ntoken = "{pms.token}"\n'
            f'library_id = "{pms.section_id}"\n'
            f'[database]\nurl = "{database_url}"\n'
            f'[security]\nkey_file = "{tmp_path}/secret.key"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")}
        env["EARMARK_SECRET_KEY"] = Fernet.generate_key().decode()
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "scan", "--full", "--config", str(config)),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "total: 1200" in out.decode() and "new: 1200" in out.decode()
    assert fault.served == 1
    assert "retry 1 of 2" in err.decode()  # the hiccup is visible, not hidden
    assert pms.token not in out.decode() + err.decode()
