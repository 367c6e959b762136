"""`/request` autocomplete against a catalog that hangs: it must always answer within 3 s.

Runs the cog's code path (`CachedCatalog.search_quick` with the production
deadline) against the fake Audible server on 127.0.0.1 in three states:
healthy, slow (4 s per answer) and hanging (never answers). Reports the
worst latency of 30 typed prefixes each. Usage: python -m bench.request_bench
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from core.catalog.cache import CachedCatalog
from core.catalog.client import AudibleCatalog
from tests.fakes.catalog import FakeAudible

RESULTS = Path(__file__).parent / "results"
WORDS = ["dune", "project hail", "harry", "foundation", "mistborn", "the martian"]


async def measure(state: str) -> tuple[float, float, int]:
    async with FakeAudible() as fake:
        fake.delay = 4.0 if state == "slow" else 0.0
        fake.hang = state == "hanging"
        async with AudibleCatalog(base_url=fake.url, timeout=10.0) as catalog:
            cache = CachedCatalog(catalog)  # production deadline (2.5 s)
            latencies: list[float] = []
            answered = 0
            for word in WORDS:
                for cut in range(2, 7):  # the user typing: "du", "dun", "dune", ...
                    started = time.perf_counter()
                    results = await cache.search_quick(word[:cut])
                    latencies.append(time.perf_counter() - started)
                    answered += bool(results)
            await cache.aclose()
    return max(latencies), sorted(latencies)[len(latencies) // 2], answered


async def main() -> None:
    rows = ["| catalog | worst latency | median | answers with choices |", "|---|---|---|---|"]
    for state in ("healthy", "slow", "hanging"):
        worst, median, answered = await measure(state)
        verdict = "within 3 s" if worst < 3.0 else "MISSED 3 s"
        rows.append(
            f"| {state} | {worst * 1000:.0f} ms ({verdict}) | {median * 1000:.0f} ms | "
            f"{answered}/30 |"
        )
    text = "\n".join(rows)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "request.md").write_text(f"python={sys.version.split()[0]}\n\n{text}\n")


if __name__ == "__main__":
    asyncio.run(main())
