"""An approved (or paid) settlement is frozen whatever code or SQL touches it: database triggers refuse any
change to its lines and any change to it but approved → paid (with the payment's date and reference), and its
deletion. Also the county's first rule: 10.00 yuan per dose, a 30 % fiscal subsidy."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

FROZEN = "('approved', 'paid')"
KEPT = (
    "site_id",
    "month",
    "doses",
    "service_fee",
    "vaccine_cost",
    "payable",
    "subsidy_share",
    "fiscal_subsidy",
    "old_channel_doses",
    "old_channel_amount",
    "adjustment_lines",
    "adjustment_amount",
    "computed_at",
    "approved_at",
    "approved_by_id",
    "confirmed_at",
    "confirmed_by_id",
)
MESSAGE = "已审核的结算单不可更改 (an approved settlement is frozen)"

PG = f"""
CREATE OR REPLACE FUNCTION settlement_frozen_row() RETURNS trigger AS $$
BEGIN
  IF OLD.status IN {FROZEN} THEN
    IF TG_OP = 'DELETE' OR OLD.status = 'paid' OR NEW.status <> 'paid'
       OR ({", ".join("NEW." + c for c in KEPT)}) IS DISTINCT FROM ({", ".join("OLD." + c for c in KEPT)}) THEN
      RAISE EXCEPTION '{MESSAGE}';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER settlement_frozen BEFORE UPDATE OR DELETE ON settlement_settlement
  FOR EACH ROW EXECUTE FUNCTION settlement_frozen_row();

CREATE OR REPLACE FUNCTION settlement_line_frozen() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM changed_lines l JOIN settlement_settlement s ON s.id = l.settlement_id
             WHERE s.status IN {FROZEN}) THEN
    RAISE EXCEPTION '{MESSAGE}';
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER settlement_line_frozen_insert AFTER INSERT ON settlement_settlementline
  REFERENCING NEW TABLE AS changed_lines FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_frozen();
CREATE TRIGGER settlement_line_frozen_update AFTER UPDATE ON settlement_settlementline
  REFERENCING OLD TABLE AS changed_lines FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_frozen();
CREATE TRIGGER settlement_line_frozen_delete AFTER DELETE ON settlement_settlementline
  REFERENCING OLD TABLE AS changed_lines FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_frozen();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS settlement_frozen ON settlement_settlement;
DROP TRIGGER IF EXISTS settlement_line_frozen_insert ON settlement_settlementline;
DROP TRIGGER IF EXISTS settlement_line_frozen_update ON settlement_settlementline;
DROP TRIGGER IF EXISTS settlement_line_frozen_delete ON settlement_settlementline;
DROP FUNCTION IF EXISTS settlement_frozen_row();
DROP FUNCTION IF EXISTS settlement_line_frozen();
"""
_SAME = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT)
_LINE_FROZEN = "(SELECT status FROM settlement_settlement WHERE id = {row}.settlement_id) IN " + FROZEN
SQLITE = [
    f"CREATE TRIGGER settlement_frozen_update BEFORE UPDATE ON settlement_settlement "
    f"WHEN OLD.status IN {FROZEN} AND NOT (OLD.status = 'approved' AND NEW.status = 'paid' AND {_SAME}) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER settlement_frozen_delete BEFORE DELETE ON settlement_settlement "
    f"WHEN OLD.status IN {FROZEN} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER settlement_line_frozen_insert BEFORE INSERT ON settlement_settlementline "
    f"WHEN {_LINE_FROZEN.format(row='NEW')} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER settlement_line_frozen_update BEFORE UPDATE ON settlement_settlementline "
    f"WHEN {_LINE_FROZEN.format(row='OLD')} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER settlement_line_frozen_delete BEFORE DELETE ON settlement_settlementline "
    f"WHEN {_LINE_FROZEN.format(row='OLD')} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "settlement_frozen_update",
        "settlement_frozen_delete",
        "settlement_line_frozen_insert",
        "settlement_line_frozen_update",
        "settlement_line_frozen_delete",
    )
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE:
            schema_editor.execute(sql)
    rule = apps.get_model("settlement", "SettlementRule")
    if not rule.objects.exists():
        rule.objects.create(
            effective_from=dt.date(2021, 1, 1),
            service_fee=Decimal("10.00"),
            subsidy_share=Decimal("0.3000"),
            cutover_date=dt.date(2021, 1, 1),
            note="接种费用按10元/剂次（含注射器）；县财政按实际接种疫苗及接种费用的30%补助医保基金",
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_REVERSE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("settlement", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
