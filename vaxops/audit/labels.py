"""What an auditor reads: every action code the code writes, in Chinese, in one place; the object of an event
named as a person would name it (masked), and its changes as "field: before → after".

``ACTION_LABELS`` must name every action the code records (``audit/tests/test_labels.py`` reads the code
and fails on a missing one). Actions built from a pattern — ``admin.<app>.<model>.<op>``,
``catalog.<model>.<op>`` and ``safety.report_<status>`` — are named by ``action_label`` from their parts.

The audit app sits low in the layers, so it imports no app above it: objects are fetched through the app
registry by the ``object_type`` stored with the event (``app_label.model``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

ACTION_LABELS: dict[str, str] = {
    "api_token.create": "创建接口令牌",
    "api_token.revoke": "吊销接口令牌",
    "booking.appointment_book": "预约挂号",
    "booking.appointment_cancel": "取消预约",
    "booking.appointment_check_in": "登记签到",
    "booking.employer_book": "单位集体预约",
    "booking.no_show": "标记未到（爽约）",
    "booking.self_identify": "居民自助预约：核对身份",
    "booking.waitlist_join": "加入候补名单",
    "booking.walk_in_register": "现场登记",
    "catalog.schedulepolicy.close": "免疫程序版本截止",
    "certificate.issue": "出具接种凭证",
    "certificate.link_send": "发送接种凭证链接",
    "certificate.revoke": "撤销接种凭证",
    "coldchain.arrival_out_of_range": "调拨到货温度超出储存范围（追溯码已隔离）",
    "coldchain.excursion_acknowledge": "确认冷链温度异常",
    "coldchain.excursion_assess": "评估冷链温度异常",
    "coldchain.excursion_close": "关闭冷链温度异常",
    "coldchain.excursion_open": "发现冷链温度异常",
    "coldchain.readings_ingest": "接收温度读数",
    "coldchain.silent_resolved": "传感器恢复上报（无数据告警解除）",
    "consent.record": "签署知情同意书",
    "contraindication.lift": "解除接种禁忌",
    "daily_report.confirm": "确认日报",
    "daily_report.correct": "更正日报",
    "daily_report.late": "日报逾期未确认",
    "dose.administer": "接种",
    "dose.record_external": "补录外地接种记录",
    "dose.void": "作废接种记录",
    "dose.correct": "更正接种记录",
    "exchange.endpoint_save": "保存交换端点",
    "exchange.inbound": "接收外来接种记录",
    "exchange.messages_retry": "重发交换失败的消息",
    "exchange.review_decide": "核对外来剂次：采纳或不采纳",
    "field.class_record": "记录培训课及出勤",
    "field.course_create": "新建培训课程",
    "field.exam_record": "登记培训考试成绩",
    "field.followup_list_assign": "向村民小组长分派动员随访名单",
    "field.followup_record": "记录动员随访",
    "field.team_stock_back": "流动接种队余苗退回",
    "field.team_stock_out": "流动接种队领苗出库",
    "field.trainee_enrol": "培训报名",
    "mobilisation.export": "导出动员名单",
    "observation.release": "留观结束离开",
    "population.import": "导入人口基数",
    "public.refused": "拒绝匿名访问（频率限制）",
    "reaction.note": "记录接种后反应",
    "record_link.create": "生成接种记录链接",
    "record_link.revoke": "撤销接种记录链接",
    "record_link.use": "打开接种记录链接",
    "registry.resident_willingness_set": "修改居民接种意愿",
    "registry.residents_group_set": "居民编入村民小组",
    "registry.village_group_create": "新建村民小组（楼栋、单元）",
    "reports.facts_rebuild": "重建统计数据",
    "resident.create": "新建居民档案",
    "resident.import_create": "名单导入：新增居民",
    "resident.import_update": "名单导入：更新居民",
    "resident.import_upload": "上传摸底名单",
    "resident.reveal": "查看完整身份信息",
    "resident.search_by_document": "按证件号码查找居民",
    "resident.update": "修改居民档案",
    "safety.ambulance_cover_set": "登记场次救护车保障",
    "safety.claim_decide": "补偿申请：作出决定",
    "safety.claim_file": "提交补偿申请",
    "safety.clock_alert": "异常反应处置时限预警",
    "safety.hospital_admit": "定点医院接诊",
    "safety.hospital_discharge": "定点医院出院",
    "safety.hospital_register": "登记定点救治医院",
    "safety.lot_hold_confirm": "确认批号叫停",
    "safety.lot_hold_propose": "提议批号叫停",
    "safety.lot_hold_release": "解除批号叫停",
    "safety.panel_classify": "专家组调查诊断",
    "safety.preliminary_report": "提交初步调查报告",
    "safety.rate_set": "设置背景发生率",
    "safety.referral": "转诊至定点医院",
    "safety.report_create": "报告疑似预防接种异常反应",
    "safety.rescue_staff_add": "登记定点医院现场救治人员",
    "safety.signal_open": "发现疫苗安全信号",
    "safety.site_pair": "接种点与定点医院配对",
    "safety.treatment_add": "记录救治情况",
    "screening.record": "预检",
    "settlement.approve": "医保部门审核通过月度结算",
    "settlement.confirm": "接种点确认月度结算",
    "settlement.lot_price_add": "设置批号合同价格",
    "settlement.pay": "登记月度结算支付",
    "settlement.return": "退回月度结算",
    "settlement.rule_add": "设置结算规则",
    "settlement.run": "计算月度结算",
    "settlement.vaccine_price_add": "设置疫苗议定价格",
    "signing_key.register": "登记凭证签名密钥",
    "signing_key.revoke": "吊销凭证签名密钥",
    "sites.assignment_add": "排班",
    "sites.certificate_issue": "登记工作人员资质证书",
    "sites.readiness_confirm": "确认开诊条件（四有）",
    "sites.session_close": "闭诊",
    "sites.session_open": "开诊",
    "sites.session_plan": "安排接种场次",
    "sites.session_reserve": "预留名额",
    "supply.allocation_approve": "批准分配方案",
    "supply.allocation_propose": "提出分配方案",
    "supply.code_after_void": "作废接种后处理追溯码",
    "supply.codes_import": "导入追溯码",
    "supply.codes_quarantine": "隔离追溯码",
    "supply.codes_release": "放行追溯码",
    "supply.dispatch_create": "调拨出库",
    "supply.dispatch_receive": "调拨收货",
    "supply.lot_details_update": "修改批号信息",
    "supply.lot_status_change": "更改批号状态",
    "supply.movement_record": "记录库存变动",
    "supply.receipt_upload": "上传收货文件",
    "supply.stock_count": "盘点",
    "supply.trace_reveal": "追溯查看受种者身份",
    "user.create": "新建用户",
    "weekly_bulletin.draft": "起草周通报",
    "weekly_bulletin.publish": "发布周通报",
    "weekly_bulletin.redraft": "重新起草周通报",
}

# The families of the list: an action code's first part → what it is about (the filter's groups).
FAMILY_LABELS: dict[str, str] = {
    "resident": "居民档案",
    "registry": "居民分组与意愿",
    "booking": "预约",
    "screening": "预检",
    "consent": "知情同意",
    "dose": "接种记录",
    "contraindication": "接种禁忌",
    "observation": "留观",
    "reaction": "接种后反应",
    "record_link": "接种记录链接",
    "certificate": "接种凭证",
    "signing_key": "凭证签名密钥",
    "sites": "接种点与场次",
    "supply": "疫苗供应",
    "coldchain": "冷链",
    "safety": "疫苗安全",
    "exchange": "数据交换",
    "settlement": "结算",
    "field": "培训与现场",
    "mobilisation": "动员名单",
    "population": "人口基数",
    "daily_report": "日报",
    "weekly_bulletin": "周通报",
    "reports": "统计",
    "catalog": "疫苗目录",
    "user": "用户",
    "api_token": "接口令牌",
    "public": "匿名访问",
    "admin": "后台管理",
}

_OPS = {"add": "新增", "change": "修改", "delete": "删除", "close": "截止"}
_REPORT_STATUS = {
    "reported": "已报告",
    "investigating": "开始调查",
    "classified": "完成诊断",
    "closed": "结案",
}


def _model_name(label: str) -> str:
    """``app_label.model`` → the model's Chinese name, else the label."""
    try:
        return str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label


def action_label(code: str) -> str:
    """The Chinese name of an action code; the code itself when none is known (never blank)."""
    if code in ACTION_LABELS:
        return ACTION_LABELS[code]
    parts = code.split(".")
    if parts[0] == "admin" and len(parts) == 4 and parts[3] in _OPS:
        return f"后台{_OPS[parts[3]]}：{_model_name(f'{parts[1]}.{parts[2]}')}"
    if parts[0] == "catalog" and len(parts) == 3 and parts[2] in _OPS:
        return f"疫苗目录{_OPS[parts[2]]}：{_model_name(f'catalog.{parts[1]}')}"
    if code.startswith("safety.report_") and code[len("safety.report_") :] in _REPORT_STATUS:
        return f"异常反应个案：{_REPORT_STATUS[code[len('safety.report_') :]]}"
    return code


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The filter's list: (family label, [(code, label)…]) with the family's own prefix first ("全部")."""
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for code, label in ACTION_LABELS.items():
        grouped[code.split(".")[0]].append((code, label))
    grouped["admin"].append(("admin.", "后台管理（全部）"))
    out = []
    for family, label in FAMILY_LABELS.items():
        items = sorted(grouped.get(family, []), key=lambda x: x[0])
        if family != "admin":
            items = [(f"{family}.", f"{label}（全部）"), *items]
        out.append((label, items))
    return out


# ------------------------------------------------------------------------------------------ objects


def _person(resident) -> str:
    masked = getattr(resident, "id_number_masked", "")
    return f"{resident} {masked}".strip()


def _object_name(obj) -> str:
    """A model instance as a person would name it: a resident (or a row about one) by masked name and ID,
    anything with a name by its name."""
    if hasattr(obj, "id_number_masked"):
        return _person(obj)
    resident = getattr(obj, "resident", None) if _has_field(obj, "resident") else None
    if resident is not None:
        return _person(resident)
    for attr in ("name", "name_zh", "number", "lot_number", "title", "code"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    return str(obj)


def _has_field(obj, name: str) -> bool:
    try:
        obj._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def objects_named(events) -> dict[int, str]:
    """Event id → "类型 · 名称" for a page of events (one query per object type on the page)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.object_type and e.object_id:
            wanted[e.object_type].add(e.object_id)
    found: dict[tuple[str, str], Any] = {}
    kinds: dict[str, str] = {}
    for label, ids in wanted.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        kinds[label] = str(model._meta.verbose_name)
        qs = model._default_manager.all()
        try:
            model._meta.get_field("resident")
            qs = qs.select_related("resident")
        except FieldDoesNotExist:
            pass
        keys = [int(i) if i.isdigit() else i for i in ids]
        try:
            rows = qs.in_bulk(keys)
        except (ValueError, TypeError):
            rows = {}
        for pk, obj in rows.items():
            found[(label, str(pk))] = obj
    out = {}
    for e in events:
        kind = kinds.get(e.object_type, "")
        obj = found.get((e.object_type, e.object_id))
        if obj is not None:
            name = _object_name(obj)
        else:
            name = e.object_repr or (f"#{e.object_id}" if e.object_id else "")
        out[e.pk] = f"{kind} · {name}" if kind and name else (kind or name)
    return out


# ------------------------------------------------------------------------------------------ changes


def _value(value) -> str:
    if value is None or value == "":
        return "（空）"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list | tuple):
        return "、".join(_value(v) for v in value) or "（空）"
    if isinstance(value, dict):
        return "；".join(f"{k}={_value(v)}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _field_name(model, key: str) -> str:
    """The key's name in Chinese: the model field's verbose name; for a reverse relation (which has none)
    the related model's plural name; else the known label of the key, else the key itself."""
    if model is not None:
        try:
            field = model._meta.get_field(key)
        except FieldDoesNotExist:
            field = None
        if field is not None:
            name = getattr(field, "verbose_name", None)
            if name:
                return str(name)
            related = getattr(field, "related_model", None)
            if related is not None and not isinstance(related, str):
                return str(related._meta.verbose_name_plural)
    return FIELD_LABELS.get(key, key)


# Keys of the stored values that are not a model field of the object (or have no name of their own).
FIELD_LABELS: dict[str, str] = {
    "status": "状态",
    "reason": "原因",
    "rows": "行数",
    "on": "日期",
    "village_code": "村（社区）代码",
    "employer": "单位",
    "slot": "时段",
    "session": "场次",
    "product": "疫苗",
    "product_code": "疫苗",
    "lot": "批号",
    "code": "追溯码",
    "codes": "追溯码",
    "count": "数量",
    "doses": "剂数",
    "purpose": "目的",
    "scope": "范围",
    "window_seconds": "时间窗（秒）",
    "outcome": "结果",
    "channel": "预约方式",
    "dose_number": "剂次",
}


def changes(event) -> list[dict[str, str]]:
    """The event's values as rows of field, before, after (only the fields that changed, when both sides
    are given)."""
    old = event.old if isinstance(event.old, dict) else {}
    new = event.new if isinstance(event.new, dict) else {}
    try:
        model = apps.get_model(event.object_type) if event.object_type else None
    except (LookupError, ValueError):
        model = None
    rows = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(key), new.get(key)
        if key in old and key in new and before == after:
            continue
        rows.append(
            {
                "field": _field_name(model, key),
                "before": _value(before) if key in old else "",
                "after": _value(after) if key in new else "",
            }
        )
    if not rows and event.new is not None and not isinstance(event.new, dict):
        rows.append({"field": "", "before": "", "after": _value(event.new)})
    return rows
