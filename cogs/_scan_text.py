"""How scans are told: progress lines, the summary, and failures (a private module).

`/admin scan` renders progress and the summary; the scheduled jobs tell the
admin channel about failures with the same sentences, so both promise the
same thing: a failed scan removes nothing.
"""

from __future__ import annotations

from bot.render import safe
from bot.tree import GENERIC
from core.errors import PlexNotConfigured
from core.library import ScanMode, ScanProgress, ScanSummary
from core.plex import PlexError, PlexUnauthorized

MODES: dict[str, ScanMode] = {"full": "full", "recent": "recent"}
MODE_NAME: dict[ScanMode, str] = {"full": "Full scan", "recent": "Recently-added poll"}
PHASE_TEXT: dict[str, str] = {
    "connecting": "connecting to Plex",
    "files": "reading file locations (tracks)",
    "books": "reading books",
    "removing": "removing books that left Plex",
    "matching": "matching open requests",
    "done": "finishing",
}


# ----- rendering (pure functions, so they are easy to read and test) ----------------------


def progress_text(mode: ScanMode, progress: ScanProgress | None, elapsed: float) -> str:
    """One line: which phase, how far, how long."""
    head = f"🔄 {MODE_NAME[mode]} running ({elapsed:.0f} s)"
    if progress is None:
        return f"{head}: starting…"
    where = PHASE_TEXT.get(progress.phase, progress.phase)
    if progress.phase in ("connecting", "matching", "done"):
        return f"{head}: {where}…"
    count = f"{progress.done:,}"
    if progress.total:
        percent = min(100, round(100 * progress.done / progress.total))
        count += f" / {progress.total:,} ({percent}%)"
    return f"{head}: {where}, {count}"


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
    """What went wrong, and the promise the scan service keeps: no deletions on failure."""
    name = MODE_NAME[mode]
    if isinstance(error, PlexNotConfigured):
        return f"❌ {name} not started: Plex is not set up yet. {safe(str(error), 300)}"
    if isinstance(error, PlexUnauthorized):
        why = "the Plex server refused Earmark's token (run `/setup plex` again)"
    elif isinstance(error, PlexError):
        why = f"Plex failed: {safe(str(error), 300)}"
    else:
        return f"❌ {name} failed. {GENERIC} Nothing was removed from the library mirror."
    return (
        f"❌ {name} failed: {why}.\nNothing was removed from the library mirror; books read "
        "before the failure were saved. Run the scan again once Plex answers."
    )
