"""The lines of a statement get cheaper to write: no index on their dose (every line of every month paid for it;
the look-ups by dose go through the partial unique indexes) and no foreign key to their statement (its check,
deferred to the commit, was one look-up per line): one trigger checks the statements of a whole INSERT at once
(each exists, none is frozen) and a deleted statement's lines go with it. A dose recorded after its month was
settled is paid once, late, in a later statement."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

_frozen = importlib.import_module("vaxops.settlement.migrations.0002_frozen")
FROZEN, MESSAGE = _frozen.FROZEN, _frozen.MESSAGE
MISSING = "结算单不存在 (no such settlement)"

PG = f"""
CREATE OR REPLACE FUNCTION settlement_line_written() RETURNS trigger AS $$
DECLARE
  missing boolean;
  frozen boolean;
BEGIN
  SELECT COALESCE(bool_or(s.id IS NULL), false), COALESCE(bool_or(s.status IN {FROZEN}), false)
    INTO missing, frozen
    FROM (SELECT DISTINCT settlement_id FROM changed_lines) l
    LEFT JOIN settlement_settlement s ON s.id = l.settlement_id;
  IF frozen THEN RAISE EXCEPTION '{MESSAGE}'; END IF;
  IF missing THEN RAISE EXCEPTION '{MISSING}'; END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS settlement_line_frozen_insert ON settlement_settlementline;
CREATE TRIGGER settlement_line_frozen_insert AFTER INSERT ON settlement_settlementline
  REFERENCING NEW TABLE AS changed_lines FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_written();
CREATE TRIGGER settlement_line_moved AFTER UPDATE ON settlement_settlementline
  REFERENCING NEW TABLE AS changed_lines FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_written();

CREATE OR REPLACE FUNCTION settlement_lines_go() RETURNS trigger AS $$
BEGIN
  DELETE FROM settlement_settlementline WHERE settlement_id IN (SELECT id FROM gone);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER settlement_lines_go AFTER DELETE ON settlement_settlement
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION settlement_lines_go();
"""
PG_REVERSE = f"""
DROP TRIGGER IF EXISTS settlement_lines_go ON settlement_settlement;
DROP FUNCTION IF EXISTS settlement_lines_go();
DROP TRIGGER IF EXISTS settlement_line_moved ON settlement_settlementline;
DROP TRIGGER IF EXISTS settlement_line_frozen_insert ON settlement_settlementline;
CREATE TRIGGER settlement_line_frozen_insert AFTER INSERT ON settlement_settlementline
  REFERENCING NEW TABLE AS changed_lines FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_frozen();
DROP FUNCTION IF EXISTS settlement_line_written();
"""
_NO_SETTLEMENT = "NOT EXISTS (SELECT 1 FROM settlement_settlement WHERE id = NEW.settlement_id)"
SQLITE = [
    f"CREATE TRIGGER settlement_line_missing_insert BEFORE INSERT ON settlement_settlementline "
    f"WHEN {_NO_SETTLEMENT} BEGIN SELECT RAISE(ABORT, '{MISSING}'); END;",
    f"CREATE TRIGGER settlement_line_missing_update BEFORE UPDATE ON settlement_settlementline "
    f"WHEN {_NO_SETTLEMENT} BEGIN SELECT RAISE(ABORT, '{MISSING}'); END;",
    "CREATE TRIGGER settlement_lines_go AFTER DELETE ON settlement_settlement "
    "BEGIN DELETE FROM settlement_settlementline WHERE settlement_id = OLD.id; END;",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in ("settlement_line_missing_insert", "settlement_line_missing_update", "settlement_lines_go")
]


def triggers(apps, schema_editor):
    """The new triggers; on SQLite also the frozen ones again (it rebuilds the lines' table to alter a column
    and loses that table's triggers)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in _frozen.SQLITE_REVERSE + SQLITE_REVERSE + _frozen.SQLITE + SQLITE:
            schema_editor.execute(sql)


def triggers_back(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_REVERSE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("settlement", "0002_frozen")]

    operations = [
        # Django drops every index on the column when it drops the column's own index, this partial one too: it
        # is made again below.
        migrations.RemoveConstraint(model_name="settlementline", name="settlementline_one_adjustment"),
        migrations.AlterField(
            model_name="settlementline",
            name="dose",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="clinic.dose",
                verbose_name="接种记录",
            ),
        ),
        migrations.AlterField(
            model_name="settlementline",
            name="settlement",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lines",
                to="settlement.settlement",
                verbose_name="结算单",
            ),
        ),
        migrations.AlterField(
            model_name="settlementline",
            name="kind",
            field=models.CharField(
                choices=[("dose", "接种"), ("adjustment", "调整（作废冲减）"), ("late", "调整（补录补付）")],
                max_length=12,
                verbose_name="类型",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "adjustment")), fields=("dose",), name="settlementline_one_adjustment"
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "late")), fields=("dose",), name="settlementline_one_late"
            ),
        ),
        migrations.RunPython(triggers, triggers_back),
    ]
