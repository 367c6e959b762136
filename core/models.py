"""Tortoise ORM models: the database schema of Earmark.

The `plex_library` table mirrors the Plex audiobook library and is the source
of truth for what is available; requests and the notification outbox hang off
Discord users.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

from tortoise import fields
from tortoise.models import Model


def nullable_text() -> fields.Field[str | None]:
    """A nullable TEXT column, typed as one (Tortoise types every TextField as `str`)."""
    return cast("fields.Field[str | None]", fields.TextField(null=True))

class RequestStatus(StrEnum):
    """The request lifecycle (DESIGN.md): pending -> ... -> available, plus side exits."""

    PENDING = "pending"
    APPROVED = "approved"
    SEARCHING = "searching"
    DOWNLOADING = "downloading"
    PROCESSING = "processing"
    DOWNLOADED = "downloaded"
    AVAILABLE = "available"
    DENIED = "denied"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States in which a request still waits for its book; every scan matches these.
OPEN_STATUSES: tuple[RequestStatus, ...] = (
    RequestStatus.PENDING,
    RequestStatus.APPROVED,
    RequestStatus.SEARCHING,
    RequestStatus.DOWNLOADING,
    RequestStatus.PROCESSING,
    RequestStatus.DOWNLOADED,
)


class ConfigEntry(Model):
    """A setting stored by `/setup` (values pinned in config.toml never land here)."""

    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.TextField()
    encrypted = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "configuration"


class User(Model):
    """A Discord user, linked to a Plex account once they `/login`."""

    discord_id = fields.BigIntField(primary_key=True, generated=False)
    plex_account_id = fields.BigIntField(null=True)
    plex_username = fields.CharField(max_length=255, null=True)
    plex_email = fields.CharField(max_length=255, null=True)
    plex_token = nullable_text()  # Fernet-encrypted plex.tv token
    linked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The "download started" DM can be turned off by its own button. Nullable so that
    # the migration can add it to a table with rows on every database: NULL means on.
    dm_download_started = fields.BooleanField(default=True, null=True)

    class Meta:
        table = "users"

    @property
    def is_linked(self) -> bool:
        return bool(self.plex_token)


class PlexItem(Model):
    """One audiobook (a Plex album) of the configured library."""

    id = fields.IntField(primary_key=True)
    plex_guid = fields.CharField(max_length=255, unique=True)
    rating_key = fields.CharField(max_length=32, db_index=True)
    title = fields.TextField()
    author = nullable_text()
    narrator = nullable_text()
    asin = fields.CharField(max_length=16, null=True, db_index=True)
    # From the title's series decoration ("(The Expanse, Book 1)"): Plex has no series field.
    series = nullable_text()
    series_index = nullable_text()  # "1", "2.5": text, as titles write it
    summary = nullable_text()
    duration_ms = fields.BigIntField(null=True)
    year = fields.IntField(null=True)
    thumb = nullable_text()
    added_at = fields.BigIntField(null=True)  # epoch seconds, as Plex gives it
    updated_at = fields.BigIntField(null=True)
    file_path = nullable_text()
    user_rating = fields.FloatField(null=True)  # the system token owner's rating
    library_id = fields.CharField(max_length=32, null=True)
    content_hash = fields.CharField(max_length=32)  # lets a scan skip unchanged rows
    last_seen = fields.DatetimeField(null=True)

    class Meta:
        table = "plex_library"


class BookRequest(Model):
    """A user's request for one book, moving through `RequestStatus`."""

    id = fields.IntField(primary_key=True)
    requester: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="requests", on_delete=fields.CASCADE
    )
    requester_id: int  # the foreign key's column, set by Tortoise
    asin = fields.CharField(max_length=16, db_index=True)
    title = fields.TextField()
    author = nullable_text()
    narrator = nullable_text()
    cover_url = nullable_text()
    status = fields.CharEnumField(RequestStatus, max_length=16, db_index=True)
    plex_guid = fields.CharField(max_length=255, null=True)
    reason = nullable_text()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    available_at = fields.DatetimeField(null=True)
    # The post in the admin channel, so every decision path can update it.
    admin_channel_id = fields.BigIntField(null=True)
    admin_message_id = fields.BigIntField(null=True)
    # What the fulfilment backend reports (core/fulfil): download progress 0-100,
    # a note on the stage (the backend's error, "not released yet, expected DATE")
    # and the backend's own id of this request.
    progress = fields.IntField(null=True)
    stage_note = nullable_text()
    external_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "requests"


class RequestSubscriber(Model):
    """Another user who asked for the same book: told when it arrives, like the requester."""

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[BookRequest] = fields.ForeignKeyField(
        "models.BookRequest", related_name="subscribers", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="subscriptions", on_delete=fields.CASCADE
    )
    request_id: int
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "request_subscribers"
        unique_together = (("request", "user"),)


class Notification(Model):
    """The outbox: one message owed to one user, delivered at most once (sent_at)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    request: fields.ForeignKeyNullableRelation[BookRequest] = fields.ForeignKeyField(
        "models.BookRequest", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    user_id: int
    request_id: int | None
    kind = fields.CharField(max_length=32)
    dedupe_key = fields.CharField(max_length=128, unique=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    attempts = fields.IntField(default=0)
    last_error = nullable_text()
    next_attempt_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "notifications"


class Dismissal(Model):
    """A book a user answered "Not interested" to in /recommend: never suggested to them again."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="dismissals", on_delete=fields.CASCADE
    )
    asin = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "recommend_dismissals"
        unique_together = (("user", "asin"),)


class Handoff(Model):
    """One approval owed to the fulfilment backend, delivered at least once, never twice.

    Queued in the transaction that approves the request; the worker sends it
    with capped backoff until the backend took it (`done_at`). `key` is unique
    per approval (request id and its count of earlier hand-offs), so a retried
    approval path cannot queue a second row.
    """

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[BookRequest] = fields.ForeignKeyField(
        "models.BookRequest", related_name="handoffs", on_delete=fields.CASCADE
    )
    request_id: int
    key = fields.CharField(max_length=64, unique=True)
    backend = fields.CharField(max_length=16)
    attempts = fields.IntField(default=0)
    last_error = nullable_text()
    # A send whose outcome is unknown (timeout): look the request up before sending again.
    unclear = fields.BooleanField(default=False)
    next_attempt_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True, db_index=True)
    outcome = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "handoffs"
class FollowKind(StrEnum):
    """What `/follow` can follow."""

    AUTHOR = "author"
    SERIES = "series"


class Follow(Model):
    """One user following one author or series, to hear about its new releases.

    `key` identifies the target: `asin:<catalog ASIN>` when the catalog gave
    one (two authors of one name stay apart), else `name:<normalised name>`.
    """

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="follows", on_delete=fields.CASCADE
    )
    user_id: int
    kind = fields.CharEnumField(FollowKind, max_length=8)
    key = fields.CharField(max_length=160)
    catalog_asin = fields.CharField(max_length=16, null=True)
    name = fields.CharField(max_length=255)  # normalised, for lookups without an ASIN
    display_name = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follows"
        unique_together = (("user", "kind", "key"),)
        indexes = (("kind", "key"),)


class FollowCheck(Model):
    """When one followed target was last looked up: the oldest go first within a run's budget."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(FollowKind, max_length=8)
    key = fields.CharField(max_length=160)
    checked_at = fields.DatetimeField(null=True)
    failures = fields.IntField(default=0)

    class Meta:
        table = "follow_checks"
        unique_together = (("kind", "key"),)


class AnnouncedRelease(Model):
    """A new release told to one user: never again, nor another edition of the same work."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="announced", on_delete=fields.CASCADE
    )
    user_id: int
    asin = fields.CharField(max_length=16)
    work_key = fields.CharField(max_length=255, db_index=True)  # normalised title and author
    title = fields.TextField()
    author = nullable_text()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "announced_releases"
        unique_together = (("user", "asin"),)


class ReleaseDay(Model):
    """The day a book not yet out comes out, as the catalog said: `/requests` shows the wait."""

    asin = fields.CharField(max_length=16, primary_key=True)
    release_date = fields.CharField(max_length=10)  # ISO day
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "release_days"
