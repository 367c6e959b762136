import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from core.models import RequestStatus


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ConfigEntry',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.TextField(unique=False)),
                ('encrypted', fields.BooleanField(default=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'configuration', 'app': 'models', 'pk_attr': 'key', 'table_description': 'A setting stored by `/setup` (values pinned in config.toml never land here).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlexItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('plex_guid', fields.CharField(unique=True, max_length=255)),
                ('rating_key', fields.CharField(db_index=True, max_length=32)),
                ('title', fields.TextField(unique=False)),
                ('author', fields.TextField(null=True, unique=False)),
                ('narrator', fields.TextField(null=True, unique=False)),
                ('asin', fields.CharField(null=True, db_index=True, max_length=16)),
                ('summary', fields.TextField(null=True, unique=False)),
                ('duration_ms', fields.BigIntField(null=True)),
                ('year', fields.IntField(null=True)),
                ('thumb', fields.TextField(null=True, unique=False)),
                ('added_at', fields.BigIntField(null=True)),
                ('updated_at', fields.BigIntField(null=True)),
                ('file_path', fields.TextField(null=True, unique=False)),
                ('user_rating', fields.FloatField(null=True)),
                ('library_id', fields.CharField(null=True, max_length=32)),
                ('content_hash', fields.CharField(max_length=32)),
                ('last_seen', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'plex_library', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One audiobook (a Plex album) of the configured library.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('discord_id', fields.BigIntField(generated=False, primary_key=True, unique=True, db_index=True)),
                ('plex_account_id', fields.BigIntField(null=True)),
                ('plex_username', fields.CharField(null=True, max_length=255)),
                ('plex_email', fields.CharField(null=True, max_length=255)),
                ('plex_token', fields.TextField(null=True, unique=False)),
                ('linked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'discord_id', 'table_description': 'A Discord user, linked to a Plex account once they `/login`.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BookRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('requester', fields.ForeignKeyField('models.User', source_field='requester_id', db_constraint=True, to_field='discord_id', related_name='requests', on_delete=OnDelete.CASCADE)),
                ('asin', fields.CharField(db_index=True, max_length=16)),
                ('title', fields.TextField(unique=False)),
                ('author', fields.TextField(null=True, unique=False)),
                ('narrator', fields.TextField(null=True, unique=False)),
                ('cover_url', fields.TextField(null=True, unique=False)),
                ('status', fields.CharEnumField(db_index=True, description='PENDING: pending\nAPPROVED: approved\nSEARCHING: searching\nDOWNLOADING: downloading\nPROCESSING: processing\nDOWNLOADED: downloaded\nAVAILABLE: available\nDENIED: denied\nFAILED: failed\nCANCELLED: cancelled', enum_type=RequestStatus, max_length=16)),
                ('plex_guid', fields.CharField(null=True, max_length=255)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('available_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('admin_channel_id', fields.BigIntField(null=True)),
                ('admin_message_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'requests', 'app': 'models', 'pk_attr': 'id', 'table_description': "A user's request for one book, moving through `RequestStatus`."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Dismissal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='discord_id', related_name='dismissals', on_delete=OnDelete.CASCADE)),
                ('asin', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'recommend_dismissals', 'app': 'models', 'unique_together': (('user', 'asin'),), 'pk_attr': 'id', 'table_description': 'A book a user answered "Not interested" to in /recommend: never suggested to them again.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='discord_id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('request', fields.ForeignKeyField('models.BookRequest', source_field='request_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('dedupe_key', fields.CharField(unique=True, max_length=128)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The outbox: one message owed to one user, delivered at most once (sent_at).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RequestSubscriber',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('models.BookRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='subscribers', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='discord_id', related_name='subscriptions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'request_subscribers', 'app': 'models', 'unique_together': (('request', 'user'),), 'pk_attr': 'id', 'table_description': 'Another user who asked for the same book: told when it arrives, like the requester.'},
            bases=['Model'],
        ),
    ]
