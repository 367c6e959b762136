from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from core.models import FollowKind


class Migration(migrations.Migration):
    dependencies = [('models', '0002_fulfilment')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AnnouncedRelease',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='discord_id', related_name='announced', on_delete=OnDelete.CASCADE)),
                ('asin', fields.CharField(max_length=16)),
                ('work_key', fields.CharField(db_index=True, max_length=255)),
                ('title', fields.TextField(unique=False)),
                ('author', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'announced_releases', 'app': 'models', 'unique_together': (('user', 'asin'),), 'pk_attr': 'id', 'table_description': 'A new release told to one user: never again, nor another edition of the same work.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='discord_id', related_name='follows', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='AUTHOR: author\nSERIES: series', enum_type=FollowKind, max_length=8)),
                ('key', fields.CharField(max_length=160)),
                ('catalog_asin', fields.CharField(null=True, max_length=16)),
                ('name', fields.CharField(max_length=255)),
                ('display_name', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'follows', 'app': 'models', 'unique_together': (('user', 'kind', 'key'),), 'indexes': [Index(fields=['kind', 'key'])], 'pk_attr': 'id', 'table_description': 'One user following one author or series, to hear about its new releases.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FollowCheck',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='AUTHOR: author\nSERIES: series', enum_type=FollowKind, max_length=8)),
                ('key', fields.CharField(max_length=160)),
                ('checked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failures', fields.IntField(default=0)),
            ],
            options={'table': 'follow_checks', 'app': 'models', 'unique_together': (('kind', 'key'),), 'pk_attr': 'id', 'table_description': "When one followed target was last looked up: the oldest go first within a run's budget."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReleaseDay',
            fields=[
                ('asin', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=16)),
                ('release_date', fields.CharField(max_length=10)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'release_days', 'app': 'models', 'pk_attr': 'asin', 'table_description': 'The day a book not yet out comes out, as the catalog said: `/requests` shows the wait.'},
            bases=['Model'],
        ),
    ]
