"""Tortoise ORM models: the database schema of Earmark.

The `plex_library` table mirrors the Plex audiobook library and is the source
of truth for what is available; requests and the notification outbox hang off
Discord users.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


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
    plex_token = fields.TextField(null=True)  # Fernet-encrypted plex.tv token
    linked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

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
    author = fields.TextField(null=True)
    narrator = fields.TextField(null=True)
    asin = fields.CharField(max_length=16, null=True, db_index=True)
    summary = fields.TextField(null=True)
    duration_ms = fields.BigIntField(null=True)
    year = fields.IntField(null=True)
    thumb = fields.TextField(null=True)
    added_at = fields.BigIntField(null=True)  # epoch seconds, as Plex gives it
    updated_at = fields.BigIntField(null=True)
    file_path = fields.TextField(null=True)
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
    asin = fields.CharField(max_length=16, db_index=True)
    title = fields.TextField()
    author = fields.TextField(null=True)
    narrator = fields.TextField(null=True)
    cover_url = fields.TextField(null=True)
    status = fields.CharEnumField(RequestStatus, max_length=16, db_index=True)
    plex_guid = fields.CharField(max_length=255, null=True)
    reason = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    available_at = fields.DatetimeField(null=True)
    # The post in the admin channel, so every decision path can update it.
    admin_channel_id = fields.BigIntField(null=True)
    admin_message_id = fields.BigIntField(null=True)

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
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "request_subscribers"
        unique_together = (("request", "user"),)


class Notification(Model):
    """The outbox: one message owed to one user; delivered at most once (sent_at)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    request: fields.ForeignKeyNullableRelation[BookRequest] = fields.ForeignKeyField(
        "models.BookRequest", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    dedupe_key = fields.CharField(max_length=128, unique=True)
    payload = fields.JSONField(default=dict)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
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
