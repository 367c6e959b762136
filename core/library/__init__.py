"""The Plex library mirror: full scans and recently-added polls into plex_library."""

from core.library.scan import (
    PlexSource,
    ProgressCallback,
    ScanMode,
    ScanProgress,
    ScanService,
    ScanSummary,
)

__all__ = [
    "PlexSource",
    "ProgressCallback",
    "ScanMode",
    "ScanProgress",
    "ScanService",
    "ScanSummary",
]
