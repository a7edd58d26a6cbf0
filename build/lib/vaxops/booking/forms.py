"""What the booking pages read from a request: the slot or session picked and the people ticked. Values that
are missing or are not ids come back as ``None`` (``core.forms.form_values``); the views then say in Chinese
which one to choose."""

from django import forms

from vaxops.core.forms import IdField, IdListField

MAX_PEOPLE = 200  # ticked at once


class SlotPickForm(forms.Form):
    slot = IdField(label="预约时段")


class SessionPickForm(forms.Form):
    session = IdField(label="场次")


class BookForm(forms.Form):
    """The community worker's door: one slot, the residents ticked."""

    slot = IdField(label="预约时段")
    resident = IdListField(label="居民", limit=MAX_PEOPLE)


class WaitlistForm(forms.Form):
    session = IdField(label="场次")
    resident = IdListField(label="居民", limit=MAX_PEOPLE)
