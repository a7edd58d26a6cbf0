"""HTML forms of the cold-chain pages (shape only; the rules are the services')."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Decision


class ManualReadingForm(forms.Form):
    celsius = forms.DecimalField(
        label=_("温度（℃）"), max_digits=5, decimal_places=2, min_value=-90, max_value=90
    )


class AssessForm(forms.Form):
    decision = forms.ChoiceField(label=_("处置决定"), choices=Decision.choices)
    reason = forms.CharField(label=_("理由（如厂家稳定性数据）"), max_length=300)
    witness = forms.CharField(label=_("监督人（销毁时必填）"), max_length=100, required=False)
    method = forms.CharField(label=_("销毁方式"), max_length=100, required=False)


class ReadingsUploadForm(forms.Form):
    file = forms.FileField(label=_("记录仪导出文件（CSV/XLSX）"))
