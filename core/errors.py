"""Errors whose message is meant for the person who asked (Discord or CLI).

Core raises these for bad input or a refused action; the Discord error handler
shows the message as is, so it must be a whole sentence with no secrets.
"""

from __future__ import annotations


class UserError(Exception):
    """A refusal or bad input explained to the user; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PlexNotConfigured(Exception):
    """No Plex server or library is set up yet; the message says what is missing."""


class NotLinked(UserError):
    def __init__(self) -> None:
        super().__init__("Link your Plex account first with `/login`.")
