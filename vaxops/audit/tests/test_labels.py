"""The audit log for an auditor: every action the code records has a Chinese name (read from the code
itself, so a new action without one fails here), objects are named as a person would (masked), and changes
read as "field: before → after"."""

import ast
import pathlib

import pytest

from vaxops.audit.labels import ACTION_LABELS, action_choices, action_label, changes
from vaxops.audit.models import AuditEvent

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the vaxops package
WRITERS = {
    "audit_record",
    "audit_record_many",
    "audit_event",
}  # catalogue_change_audit passes add/change/delete


def _actions_in_code() -> tuple[set[str], list[str]]:
    """Every constant action passed to an audit writer (both branches of a conditional, module-level
    constants by name), and the f-string actions found (they must match a known pattern)."""
    constants, patterns = set(), []
    for path in ROOT.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            t.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for t in node.targets
            if isinstance(t, ast.Name) and isinstance(node.value.value, str)
        }
        imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if func not in WRITERS:
                continue
            for kw in node.keywords:
                if kw.arg != "action":
                    continue
                values = [kw.value.body, kw.value.orelse] if isinstance(kw.value, ast.IfExp) else [kw.value]
                for v in values:
                    if isinstance(v, ast.Constant):
                        constants.add(v.value)
                    elif isinstance(v, ast.JoinedStr):
                        patterns.append(f"{path.name}:{node.lineno}")
                    elif isinstance(v, ast.Name) and v.id in names:
                        constants.add(names[v.id])
                    elif isinstance(v, ast.Name) and v.id in imported:
                        module = next(
                            n.module for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names
                            if (a.asname or a.name) == v.id
                        )  # fmt: skip
                        other = ROOT.parent / (module.replace(".", "/") + ".py")
                        consts = {
                            t.id: n.value.value
                            for n in ast.parse(other.read_text(encoding="utf-8")).body
                            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                            for t in n.targets
                            if isinstance(t, ast.Name)
                        }
                        constants.add(consts[v.id])
    return constants, patterns


def test_every_action_in_the_code_has_a_chinese_label():
    constants, patterns = _actions_in_code()
    assert len(constants) > 80  # the scan found the writers
    missing = sorted(c for c in constants if action_label(c) == c)
    assert missing == [], f"audit actions without a label in audit/labels.py: {missing}"
    # The three actions built from parts: the admin's, the catalogue's and the safety report's moves.
    assert sorted(p.split(":")[0] for p in patterns) == ["receivers.py", "services.py", "services.py"]


def test_the_patterned_actions_have_labels():
    assert action_label("catalog.product.change") == "疫苗目录修改：疫苗品种"
    assert action_label("admin.registry.resident.delete") == "后台删除：居民"
    assert action_label("safety.report_classified") == "异常反应个案：完成诊断"
    assert action_label("booking.appointment_book") == "预约挂号"
    assert action_label("no.such_action") == "no.such_action"  # unknown: the code, never blank


def test_the_action_filter_offers_every_labelled_action_grouped():
    offered = {code for _group, items in action_choices() for code, _label in items}
    assert set(ACTION_LABELS) <= offered
    assert "booking." in offered and "resident." in offered  # a whole family at once


def test_changes_read_field_before_after():
    e = AuditEvent(
        action="resident.update",
        object_type="registry.resident",
        old={"phone": "139****0001", "willingness": "hesitant"},
        new={"phone": "139****0002", "willingness": "hesitant", "note": None},
    )
    rows = changes(e)
    assert {"field": "手机号码", "before": "139****0001", "after": "139****0002"} in rows
    assert all(r["field"] != "接种意愿" for r in rows)  # unchanged: left out
    assert {"field": "note", "before": "", "after": "（空）"} in rows


def test_changes_name_a_reverse_relation_by_the_related_models_plural():
    # residents_group_set records the group's residents: a reverse relation, which has no verbose_name.
    e = AuditEvent(
        action="registry.residents_group_set", object_type="registry.villagegroup", new={"residents": [3, 4]}
    )
    assert changes(e) == [{"field": "居民", "before": "", "after": "3、4"}]
    unknown = AuditEvent(action="x.y", object_type="registry.village_group", new={"residents": [1]})
    assert changes(unknown)[0]["field"] == "residents"  # an unknown model: the key itself


@pytest.mark.django_db
def test_the_log_names_the_object_and_the_action_in_chinese(client, county, village_a1, cdc):
    from vaxops.audit.services import audit_record
    from vaxops.registry.models import Resident

    cdc.full_name = "陈立新"
    cdc.save(update_fields=["full_name"])
    r = Resident.objects.create(
        id_type="resident_id",
        id_number="330199198006150028",
        name="王小芳",
        birth_date="1980-06-15",
        village=village_a1,
        village_code=village_a1.code,
    )
    audit_record(actor=cdc, action="resident.update", obj=r, old={"phone": "1"}, new={"phone": "2"})
    client.force_login(cdc)

    html = client.get("/audit/").content.decode()
    assert "修改居民档案" in html and "居民 · 王*芳 330199********0028" in html
    assert '<span class="k">手机号码</span>：1 → 2' in html
    assert "王小芳" not in html and "330199198006150028" not in html
    assert "registry.resident#" not in html and "{&#x27;" not in html  # no object codes, no Python dicts
    assert (
        '<select id="action" name="action">' in html
        and '<option value="booking.appointment_book">预约挂号</option>' in html
    )
    assert '<option value="cdc">陈立新（cdc）</option>' in html and 'type="date"' in html
    filtered = client.get("/audit/", {"action": "booking."}).content.decode()
    assert "修改居民档案" not in filtered.split('id="audit-events"')[1]


@pytest.mark.django_db
def test_far_and_inverted_dates_in_the_search_are_ignored_not_a_server_error(client, county, cdc):
    from vaxops.audit.services import audit_record

    audit_record(actor=cdc, action="user.create", object_type="accounts.user", new={"username": "x"})
    client.force_login(cdc)
    far = client.get("/audit/", {"date_from": "9999-12-31", "date_to": "0001-01-01"})
    listed = far.content.decode().split('id="audit-events"')[1]
    assert far.status_code == 200 and "新建用户" in listed  # both outside the bounds: ignored
    edge = client.get("/audit/", {"date_from": "2100-12-31", "date_to": "2100-12-31"})
    assert edge.status_code == 200 and "新建用户" not in edge.content.decode().split('id="audit-events"')[1]
    inverted = client.get("/audit/", {"date_from": "2026-12-31", "date_to": "2026-01-01"})
    assert inverted.status_code == 200
