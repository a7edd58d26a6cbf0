from django import forms


class ConfirmForm(forms.Form):
    """A township's confirmation of its day's report, or a correction (with its reason)."""

    township = forms.RegexField(
        regex=r"^\d{9}(\d{3})?$", label="乡镇（街道）", error_messages={"invalid": "乡镇代码应为9或12位数字"}
    )
    day = forms.DateField(label="统计日期", error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})
    note = forms.CharField(label="备注", max_length=500, required=False)
    reason = forms.CharField(label="更正原因", max_length=200, required=False)
