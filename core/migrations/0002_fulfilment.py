from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Handoff',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('models.BookRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='handoffs', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('backend', fields.CharField(max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('unclear', fields.BooleanField(default=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(null=True, max_length=32)),
            ],
            options={'table': 'handoffs', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One approval owed to the fulfilment backend, delivered at least once, never twice.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='BookRequest',
            name='external_id',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='BookRequest',
            name='progress',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='BookRequest',
            name='stage_note',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='User',
            name='dm_download_started',
            field=fields.BooleanField(null=True, default=True),
        ),
    ]
