"""The safety pages' forms (input parsed here, refusals by the services)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from vaxops.core.forms import IdField, IdListField

from . import domain
from .models import AdverseEventReport, Claim, Classification

CRITERIA = [(c.value, c.label_zh) for c in domain.Criterion]


class ReportForm(forms.Form):
    """The case report card's fields, for staff (site, hospital, county)."""

    dose = IdField(label=_("接种记录编号"))
    onset_at = forms.DateTimeField(label=_("发病时间"))
    discovered_at = forms.DateTimeField(label=_("发现时间"), required=False)
    signs = forms.CharField(label=_("主要临床表现（用顿号分隔）"), max_length=400)
    description = forms.CharField(label=_("病情描述"), max_length=2000, required=False, widget=forms.Textarea)
    criteria = forms.MultipleChoiceField(
        label=_("严重性"), choices=CRITERIA, required=False, widget=forms.CheckboxSelectMultiple
    )
    major_concern = forms.BooleanField(label=_("对社会有重大影响"), required=False)
    treatment = forms.CharField(label=_("治疗"), max_length=2000, required=False, widget=forms.Textarea)
    outcome = forms.ChoiceField(label=_("转归"), choices=AdverseEventReport.Outcome.choices)
    reporter_name = forms.CharField(label=_("报告人"), max_length=50)
    reporter_unit = forms.CharField(label=_("报告单位"), max_length=100, required=False)
    reporter_phone = forms.CharField(label=_("联系电话"), max_length=40, required=False)
    refer = forms.BooleanField(label=_("同时转诊至对口定点救治医院"), required=False)


class PersonReportForm(forms.Form):
    """The person's plain-language form on their record page."""

    dose = IdField(label=_("哪一次接种后出现不适"))
    onset_at = forms.DateTimeField(label=_("什么时候开始不舒服"))
    signs = forms.CharField(label=_("哪里不舒服（例如：发热、皮疹）"), max_length=400)
    description = forms.CharField(
        label=_("具体情况（可不填）"), max_length=2000, required=False, widget=forms.Textarea
    )
    hospitalised = forms.BooleanField(label=_("已经住院"), required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=40)


class ClassifyForm(forms.Form):
    diagnosis = forms.CharField(label=_("诊断"), max_length=2000, widget=forms.Textarea)
    classification = forms.ChoiceField(label=_("分类"), choices=Classification.choices)
    reasoning = forms.CharField(label=_("依据"), max_length=2000, widget=forms.Textarea)
    experts = IdListField(label=_("专家"), limit=20)


class ClaimForm(forms.Form):
    kind = forms.ChoiceField(label=_("类别"), choices=Claim.Kind.choices)
    amount = forms.CharField(label=_("申请金额（元）"), max_length=20)
    note = forms.CharField(label=_("说明"), max_length=300, required=False)


class DischargeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("转归"), choices=AdverseEventReport.Outcome.choices)


class TreatmentForm(forms.Form):
    note = forms.CharField(label=_("诊疗记录"), max_length=2000, widget=forms.Textarea)
