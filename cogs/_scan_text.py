"""How scans are told: progress lines, the summary, and failures (a private module).

`/admin scan` renders progress and the summary; the scheduled jobs tell the
admin channel about failures with the same sentences, so both promise the
same thing: a failed scan removes nothing.
"""

from __future__ import annotations

from bot.render import safe
from bot.tree import GENERIC, plex_problem
from core.errors import PlexNotConfigured
from core.library import ScanMode, ScanProgress, ScanSummary
from core.plex import PlexError

MODES: dict[str, ScanMode] = {"full": "full", "recent": "recent"}
MODE_NAME: dict[ScanMode, str] = {"full": "Full scan", "recent": "Recently-added poll"}

#: The steps of each scan, in order: phase -> (step number, what the step is called).
#: Removing and matching are one step: both are short, and the count never goes back.
STEPS: dict[ScanMode, dict[str, tuple[int, str]]] = {
    "full": {
        "files": (1, "track files"),
        "books": (2, "books"),
        "removing": (3, "removing books that left Plex"),
        "matching": (3, "matching open requests"),
        "done": (3, "finishing"),
    },
    "recent": {
        "books": (1, "new books"),
        "matching": (2, "matching open requests"),
        "done": (2, "finishing"),
    },
}
BAR_CELLS = 10


# ----- rendering (pure functions, so they are easy to read and test) ----------------------


def progress_bar(fraction: float) -> str:
    """`▰▰▰▰▰▱▱▱▱▱ 52%`: text, so it reads the same in every Discord client."""
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * BAR_CELLS)
    return f"{'▰' * filled}{'▱' * (BAR_CELLS - filled)} {round(100 * fraction)}%"


def progress_text(mode: ScanMode, progress: ScanProgress | None, elapsed: float) -> str:
    """Which step of how many, how far within it, and a bar for the whole scan.

    The bar covers the whole scan (step i of n at a fraction f is (i-1+f)/n),
    so it only ever moves forward, even when a step's own count starts over.
    """
    head = f"🔄 {MODE_NAME[mode]} running · {elapsed:.0f} s"
    steps = STEPS[mode]
    if progress is None or progress.phase not in steps:
        return f"{head}\nConnecting to Plex…"
    number, name = steps[progress.phase]
    count = len({n for n, _ in steps.values()})
    line = f"Step {number} of {count} · {name}"
    within = 0.0
    if progress.phase == "done":
        within = 1.0
    elif progress.phase in ("files", "books"):
        line += f" {progress.done:,}"
        if progress.total:
            line += f"/{progress.total:,}"
            within = min(1.0, progress.done / progress.total)
    return f"{head}\n{line}\n{progress_bar((number - 1 + within) / count)}"


def summary_text(summary: ScanSummary, *, joined: bool) -> str:
    """The seed's summary (total, new, updated, removed, matched requests) plus its caveats."""
    name = MODE_NAME[summary.mode]
    lines = []
    if joined:
        lines.append(f"Joined the running {name.lower()} instead of starting another.")
    icon = "✅" if summary.complete else "⚠️"
    lines.append(f"{icon} {name} finished in {summary.seconds:.1f} s.")
    seen = "Books in Plex" if summary.mode == "full" else "Books checked"
    lines.append(
        f"{seen}: **{summary.total:,}** · new: **{summary.new:,}** · "
        f"updated: **{summary.updated:,}** · removed: **{summary.removed:,}** · "
        f"unchanged: {summary.unchanged:,}"
    )
    matched = f"Matched requests: **{summary.matched_requests}**"
    if summary.matched_request_ids:
        ids = ", ".join(f"#{i}" for i in summary.matched_request_ids[:20])
        more = " …" if len(summary.matched_request_ids) > 20 else ""
        matched += f" ({ids}{more}): now available, their requesters get a DM"
    lines.append(matched)
    if summary.note:
        lines.append(f"⚠️ {safe(summary.note, 500)}")
    return "\n".join(lines)


def failure_text(mode: ScanMode, error: Exception) -> str:
    """What failed, what it means, and the promise the scan service keeps: no deletions.

    Never the error's own text for a Plex error: it carries the internal URL
    and query string, which the log keeps (`plex_problem`).
    """
    name = MODE_NAME[mode]
    if isinstance(error, PlexNotConfigured):
        return f"❌ {name} not started. {safe(str(error), 300)}"
    if not isinstance(error, PlexError):
        return f"❌ {name} failed. {GENERIC} Nothing was removed from the library mirror."
    return (
        f"❌ {name} failed: {plex_problem(error)}.\n"
        "Nothing was removed from the library mirror; books read before the failure were "
        "saved. The next scan picks up where this one left off once Plex answers."
    )
