from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0003_follow')]

    initial = False

    operations = [
        ops.AddField(
            model_name='PlexItem',
            name='series',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='PlexItem',
            name='series_index',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
