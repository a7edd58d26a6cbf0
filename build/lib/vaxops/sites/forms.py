"""What the site pages read from a request: the day and desks of a session to plan, the places to reserve,
the staff member and desk to assign, the appointment to check in. Values that are missing or do not parse
come back as ``None`` (``core.forms.form_values``); the views say in Chinese which field to fill, and the
services check the rules (at least one desk, a positive number of places)."""

from django import forms

from vaxops.core.bounds import INT32_MAX, parse_day
from vaxops.core.forms import IdField

SMALLINT_MAX = 32767


class DayField(forms.DateField):
    """A YYYY-MM-DD day between 1900 and 2100 (``core.bounds``)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        day = parse_day(value)
        if day is None:
            raise forms.ValidationError("日期须为YYYY-MM-DD，且在1900至2100年之间", code="invalid")
        return day


class PlanForm(forms.Form):
    day = DayField(label="场次日期")
    desks = forms.IntegerField(label="接种台数", required=False, max_value=SMALLINT_MAX)


class ReserveForm(forms.Form):
    session = IdField(label="场次")
    places = forms.IntegerField(label="预留名额", required=False, max_value=INT32_MAX)
    target = forms.CharField(label="村（社区）或单位", required=False, max_length=40)


class AssignForm(forms.Form):
    staff = IdField(label="工作人员")
    desk = IdField(label="工作台")


class CheckInForm(forms.Form):
    appointment = IdField(label="预约")


class SlotFilterForm(forms.Form):
    slot = IdField(label="时段")
