"""The Plex library mirror: full scans and recently-added polls into plex_library."""

from core.library.scan import (
    PlexNotConfigured,
    PlexSource,
    ProgressCallback,
    ScanMode,
    ScanProgress,
    ScanService,
    ScanSummary,
)

__all__ = [
    "PlexNotConfigured",
    "PlexSource",
    "ProgressCallback",
    "ScanMode",
    "ScanProgress",
    "ScanService",
    "ScanSummary",
]
