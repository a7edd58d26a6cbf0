"""With English chosen, the home page's 我的工作 links, the header menu, the role labels and the resident's
booking pages speak English: no Chinese in the parts translated (people's and places' names are data)."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from vaxops.accounts.roles import ROLES
from vaxops.booking.views import SELF_JUST, SELF_KEY

HAN = re.compile(r"[\u4e00-\u9fff]")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def chinese_in(html: str, *, allowed: tuple[str, ...] = ()) -> list[str]:
    """The page's visible texts with Chinese characters, once the ``allowed`` data (names) is removed."""
    p = _Text()
    p.feed(html)
    out = []
    for text in p.parts:
        for a in allowed:
            text = text.replace(a, "")
        if HAN.search(text) and text not in ("中文",):
            out.append(text)
    return out


def _english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})


@pytest.mark.django_db
def test_the_home_page_and_header_speak_english(client, cdc):
    client.force_login(cdc)
    _english(client)
    html = client.get("/").content.decode()
    county = cdc.division.name
    left = chinese_in(html, allowed=(county, "清溪县"))
    assert left == [], left
    assert "County CDC planner" in html and "My work" in html and "Vaccine supply" in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in ROLES])
def test_role_labels_in_english(county, role):
    from django.utils import translation

    from vaxops.accounts.services import user_create

    user = user_create(username=f"u_{role.code}", password="x" * 12, role=role.code, division=county)
    with translation.override("en"):
        assert user.role_label == role.name_en
    with translation.override("zh-hans"):
        assert user.role_label == role.name_zh


@pytest.mark.django_db
def test_the_residents_booking_pages_speak_english(client, village_a1):
    from vaxops.booking import services
    from vaxops.booking.models import Appointment
    from vaxops.booking.tests.factories import resident, session, site
    from vaxops.core.actors import SystemActor

    _english(client)
    start = client.get(reverse("booking:book")).content.decode()
    assert chinese_in(start, allowed=("清溪县",)) == [], chinese_in(start)
    s = client.session
    s["self_booking_pending"] = {"id_number": "X", "phone": "13900000001", "at": 0}
    s.save()
    verify = client.get(reverse("booking:book-verify")).content.decode()
    assert chinese_in(verify, allowed=("清溪县",)) == []

    planned = session(site(village_a1), SystemActor("t"))
    person = resident(village_a1, 1, name="张三丰", phone="13900000001")
    s = client.session
    from vaxops.core import clock

    s[SELF_KEY] = {"resident": person.pk, "until": clock.now().timestamp() + 600}
    s.save()
    names = ("张*丰", planned.site.name, planned.site.address or "清溪县", "清溪县")
    for query in ({}, {"site": planned.site.code}, {"site": planned.site.code, "session": planned.pk}):
        html = client.get(reverse("booking:book-slots"), query).content.decode()
        assert chinese_in(html, allowed=names) == [], (query, chinese_in(html, allowed=names))
    none = client.get(reverse("booking:book-me")).content.decode()
    assert chinese_in(none, allowed=names) == []
    slot = planned.slots.order_by("start").first()
    services.appointment_book(actor=SystemActor("t"), resident=person, slot=slot, channel="community")
    me = client.get(reverse("booking:book-me")).content.decode()
    assert chinese_in(me, allowed=names) == [], chinese_in(me, allowed=names)
    assert "You already have an appointment" in me
    s = client.session
    s[SELF_JUST] = "booked"
    s.save()
    assert chinese_in(client.get(reverse("booking:book-me")).content.decode(), allowed=names) == []
    assert Appointment.objects.filter(resident=person).exists()
