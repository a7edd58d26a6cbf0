"""HTML forms of the clinic pages; the rules themselves are checked by the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from vaxops.catalog import domain

YES_NO = [("yes", _("是")), ("no", _("否"))]


class DateInput(forms.DateInput):
    input_type = "date"


class ExternalDoseForm(forms.Form):
    product = forms.ChoiceField(label=_("疫苗品种"))
    given_on = forms.DateField(label=_("接种日期"), widget=DateInput)
    place = forms.CharField(
        label=_("接种地点"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：杭州市西湖区某接种点"), "size": 30}),
    )

    def __init__(self, *args, catalogue: domain.Catalogue, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [(p.code, f"{p.code} · {p.label_zh}") for p in catalogue.products]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), min_length=2, max_length=200)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DoseCorrectForm(forms.Form):
    """A dose's time of administration and injection site as they should have been recorded; the rules
    (who, which doses, which times) are ``services.dose_correct``'s."""

    given_at = forms.DateTimeField(
        label=_("接种时间"), widget=DateTimeInput, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
    injection_site = forms.CharField(label=_("接种部位"), max_length=40, required=False)
    reason = forms.CharField(label=_("更正原因"), min_length=2, max_length=200)


def _choice_label(value: str, catalogue: domain.Catalogue) -> str:
    if value == "no":
        return str(_("否"))
    if value == "yes":
        return str(_("是（品种不详）"))
    product = catalogue.find_product(value)
    return f"{_('是')}：{product.code} · {product.label_zh}" if product else value


# Yes/no questions that apply to women only: not asked of a man (his answer is recorded as "no").
FEMALE_ONLY: frozenset[str] = frozenset({"pregnancy", "lactation"})


class ScreeningForm(forms.Form):
    """One field per question of the set (``q_<code>``), then temperature and blood pressure.

    Yes/no questions have no default: the screener must ask each one (a "全部否" button on the page answers
    every yes/no question "no" at once, for the screener to change). ``sex`` is the person's (``"M"``/``"F"``/
    ``""``): the questions of ``FEMALE_ONLY`` are not shown to a man.
    """

    def __init__(
        self, *args, question_set: domain.QuestionSet, catalogue: domain.Catalogue, sex: str = "", **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.question_set = question_set
        self.not_asked = {
            q.code
            for q in question_set.questions
            if sex == "M" and q.code in FEMALE_ONLY and q.answer_type is domain.AnswerType.BOOL
        }
        for q in question_set.questions:
            if q.code in self.not_asked:
                continue
            name = f"q_{q.code}"
            if q.answer_type is domain.AnswerType.BOOL:
                field = forms.TypedChoiceField(
                    choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect, required=True
                )
            elif q.answer_type is domain.AnswerType.CHOICE:
                field = forms.ChoiceField(
                    choices=[(c, _choice_label(c, catalogue)) for c in q.choices],
                    widget=forms.RadioSelect,
                    required=q.required,
                )
            elif q.answer_type is domain.AnswerType.DATE:
                # A blank date means "no" to a question such as "another vaccine in the last 14 days?".
                field = forms.DateField(widget=DateInput, required=False)
            else:
                field = forms.CharField(
                    required=q.required, max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 50})
                )
            field.label = q.text_zh
            field.question = q
            self.fields[name] = field
        self.fields["temperature_c"] = forms.DecimalField(
            label=_("体温（℃）"),
            max_digits=3,
            decimal_places=1,
            min_value=30,
            max_value=45,
            widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
        )
        self.fields["bp_systolic"] = forms.IntegerField(
            label=_("收缩压（mmHg）"), required=False, min_value=40, max_value=300
        )
        self.fields["bp_diastolic"] = forms.IntegerField(
            label=_("舒张压（mmHg）"), required=False, min_value=20, max_value=200
        )

    def question_fields(self):
        return [self[f"q_{q.code}"] for q in self.question_set.questions if q.code not in self.not_asked]

    def answers(self) -> dict:
        """The cleaned answers keyed by question code (blank optional answers left out)."""
        out = {}
        for q in self.question_set.questions:
            if q.code in self.not_asked:
                out[q.code] = False
                continue
            value = self.cleaned_data.get(f"q_{q.code}")
            if q.answer_type is domain.AnswerType.DATE or value not in (None, ""):
                out[q.code] = value
        return out
