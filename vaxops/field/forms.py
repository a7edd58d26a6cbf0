"""What the field pages read from a request; missing or unparsable values come back as ``None``
(``core.forms.form_values``) and the views name the field to fill."""

from django import forms

from vaxops.core.forms import IdField
from vaxops.sites.forms import DayField


class CourseForm(forms.Form):
    code = forms.CharField(max_length=30)
    title = forms.CharField(max_length=100)
    division = forms.CharField(max_length=12)
    deadline = DayField()
    pass_score = forms.DecimalField(max_digits=4, decimal_places=1, required=False)
    certificate_months = forms.IntegerField(min_value=1, max_value=120, required=False)


class ClassForm(forms.Form):
    day = DayField()
    place = forms.CharField(max_length=100, required=False)


class EnrolForm(forms.Form):
    staff = IdField()


class ExamForm(forms.Form):
    trainee = IdField()
    score = forms.CharField(max_length=10, required=False)


class MobilePlanForm(forms.Form):
    day = DayField()
    venue_kind = forms.CharField(max_length=10)
    village = forms.CharField(max_length=12, required=False)
    employer = IdField()
    address = forms.CharField(max_length=200, required=False)


class StockOutForm(forms.Form):
    product = forms.CharField(max_length=40)
    doses = forms.IntegerField(min_value=1, max_value=100_000, required=False)
    cold_box = IdField()


class GroupForm(forms.Form):
    group = IdField()
