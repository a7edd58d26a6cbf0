"""HTML forms of the supply pages. They check the shape of the input; the rules (stock, lot status, FEFO,
scope) are checked by ``services`` and ``selectors.require_place``, whose Chinese messages the pages show."""

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from vaxops.catalog.models import Product

from . import domain
from .models import PlaceKind, StockPlace

# A keyboard-wedge scanner types the digits and then Enter (or Tab); people also paste lists separated by
# commas or spaces. Inner whitespace of one code is removed again by ``domain.normalise_trace_code``.
_SEPARATORS = re.compile(r"[\s,;，；、]+")
MAX_SCANS = 50_000


def split_scans(text: str) -> list[str]:
    """The scanned codes in ``text``, one per line (or separated by commas/spaces), blanks dropped."""
    return [t for t in _SEPARATORS.split(text or "") if t]


def _check_scans(tokens: list[str]) -> list[str]:
    """Each token as a 20-digit code; ValidationError naming the first few that are not codes, so a typo
    is corrected before it becomes a discrepancy."""
    if len(tokens) > MAX_SCANS:
        raise forms.ValidationError(_("一次最多提交 %(n)s 个追溯码") % {"n": f"{MAX_SCANS:,}"})
    codes, bad = [], []
    for t in tokens:
        try:
            codes.append(domain.parse_trace_code(t).code)
        except domain.TraceCodeError as e:
            bad.append(e.message)
    if bad:
        more = _("（另有 %(n)s 个）") % {"n": len(bad) - 3} if len(bad) > 3 else ""
        raise forms.ValidationError("；".join(bad[:3]) + more)
    return codes


class PlaceField(forms.ModelChoiceField):
    """Any stock place is accepted here, so that a place outside the user's scope reaches
    ``require_place`` and is refused with its own message; the drop-down offers only the user's places."""

    def __init__(self, **kwargs):
        super().__init__(queryset=StockPlace.objects.order_by("code"), **kwargs)

    def offer(self, places) -> None:
        self.widget.choices = [("", "---------")] + [(p.pk, str(p)) for p in places]


def _products():
    return Product.objects.order_by("sort", "code")


class ProductField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(queryset=_products(), **kwargs)

    def label_from_instance(self, obj):
        return f"{obj.code} · {obj.name_zh}"


def default_store(places):
    """The county store among ``places`` (else the first), for the forms' default."""
    places = list(places)
    return next((p for p in places if p.kind == PlaceKind.COUNTY_STORE), places[0] if places else None)


class ReceiptUploadForm(forms.Form):
    file = forms.FileField(label=_("收货文件"))
    place = PlaceField(label=_("入库地点"))


class LotStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("新状态"), choices=[(s.value, s.label_zh) for s in domain.LotStatus])
    reason = forms.CharField(
        label=_("原因"),
        max_length=200,
        widget=forms.TextInput(attrs={"size": 40, "placeholder": _("如：省疾控通知暂停使用")}),
    )


class RevealForm(forms.Form):
    purpose = forms.CharField(
        label=_("查看完整身份的用途（将记录在审计日志）"),
        min_length=2,
        max_length=200,
        widget=forms.TextInput(attrs={"size": 40, "placeholder": _("如：疑似异常反应调查")}),
    )


class WasteForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("损耗原因"), choices=[(r.value, r.label_zh) for r in domain.WastageReason]
    )
    note = forms.CharField(
        label=_("说明"), max_length=200, required=False, widget=forms.TextInput(attrs={"size": 30})
    )


class DispatchForm(forms.Form):
    from_place = PlaceField(label=_("调出地点"))
    to_place = PlaceField(label=_("调入地点"))
    product = ProductField(label=_("疫苗品种"))
    doses = forms.IntegerField(label=_("剂数"), min_value=1, max_value=10_000_000)
    vehicle = forms.TypedChoiceField(
        label=_("运输冷链设备（冷藏车/冷藏箱，可选）"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[],
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def offer_vehicles(self, units) -> None:
        self.fields["vehicle"].choices = [("", "—")] + [(u.pk, f"{u.place.name} · {u}") for u in units]


class ReceiveForm(forms.Form):
    MODE_ALL = "all"
    MODE_SCAN = "scan"
    mode = forms.ChoiceField(
        label=_("签收方式"),
        widget=forms.RadioSelect,
        initial=MODE_SCAN,
        choices=[(MODE_SCAN, _("逐个扫码签收")), (MODE_ALL, _("全部签收（不逐个扫码）"))],
    )
    scanned = forms.CharField(
        label=_("到货追溯码（扫码枪每扫一个换一行，可扫箱码/盒码）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 32, "autocomplete": "off", "spellcheck": "false"}),
    )
    damaged = forms.CharField(
        label=_("破损追溯码（可选）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 32, "autocomplete": "off", "spellcheck": "false"}),
    )
    note = forms.CharField(
        label=_("备注"), max_length=200, required=False, widget=forms.TextInput(attrs={"size": 40})
    )
    arrival_celsius = forms.DecimalField(
        label=_("到货温度（℃）"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=-50,
        max_value=60,
        help_text=_("开箱时测得的温度；超出疫苗储存温度范围的，本单到货疫苗自动隔离待县疾控评估"),
    )

    def clean_scanned(self):
        return _check_scans(split_scans(self.cleaned_data.get("scanned", "")))

    def clean_damaged(self):
        return _check_scans(split_scans(self.cleaned_data.get("damaged", "")))

    def clean(self):
        data = super().clean()
        if (
            data.get("mode") == self.MODE_SCAN
            and "scanned" in data
            and not data["scanned"]
            and not data.get("damaged")
        ):
            raise forms.ValidationError(_("请扫描到货的追溯码，或选择“全部签收”"))
        return data


def _weight(label):
    return forms.DecimalField(
        label=label,
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=2,
        initial=Decimal(1),
        widget=forms.NumberInput(attrs={"step": "0.1", "class": "w-6"}),
    )


class AllocationForm(forms.Form):
    product = ProductField(label=_("疫苗品种"))
    doses_arriving = forms.IntegerField(label=_("到货剂数"), min_value=1, max_value=100_000_000)
    source = PlaceField(label=_("调出地点（到货地点）"))
    risk = _weight(_("疫情风险权重"))
    density = _weight(_("人口密度权重"))
    mobility = _weight(_("人口流动权重"))


class StockCountForm(forms.Form):
    place = PlaceField(label=_("盘点地点"))
    scanned = forms.CharField(
        label=_("盘点扫码（每行一个追溯码，可扫箱码/盒码）"),
        widget=forms.Textarea(attrs={"rows": 10, "cols": 32, "autocomplete": "off", "spellcheck": "false"}),
    )
    adjust = forms.BooleanField(label=_("调整台账（账有实无的追溯码登记为损耗）"), required=False)
    reason = forms.CharField(
        label=_("调整原因"), max_length=200, required=False, widget=forms.TextInput(attrs={"size": 40})
    )

    def clean_scanned(self):
        codes = _check_scans(split_scans(self.cleaned_data.get("scanned", "")))
        if not codes:
            raise forms.ValidationError(_("请扫描盘点到的追溯码"))
        return codes

    def clean(self):
        data = super().clean()
        if data.get("adjust") and not (data.get("reason") or "").strip():
            self.add_error("reason", _("调整台账须填写原因"))
        return data
