"""The 2-day rule: doses not acknowledged within 2 days of being given, per site, on the county's page, in
the API, and as a notification to the site; the lags measured per dose."""

import datetime as dt

import pytest

from vaxops.core import clock
from vaxops.exchange import notices, selectors, services
from vaxops.exchange.models import OutboundMessage
from vaxops.sites.models import StaffMember

from .conftest import give


def _days_later(monkeypatch, days):
    moved = clock.now() + dt.timedelta(days=days)
    monkeypatch.setattr(clock, "now", lambda: moved)
    return moved


def test_a_dose_unacknowledged_after_two_days_is_on_the_backlog(
    desk1, village_a1, vaccinator, endpoint, receiver, monkeypatch, cdc
):
    give(desk1, village_a1, vaccinator, 3)
    assert selectors.backlog_by_site(user=cdc) == []  # given today: not late yet
    _days_later(monkeypatch, 3)
    (row,) = selectors.backlog_by_site(user=cdc)
    assert (row["code"], row["doses"], row["oldest"]) == ("S1", 3, desk1.session.day)
    assert selectors.backlog_total(user=cdc) == 3
    assert selectors.backlog_total(code_range=("330199001000", "330199001999")) == 3
    assert selectors.backlog_total(code_range=("330199002000", "330199002999")) == 0
    services.outbox_drain()
    assert selectors.backlog_by_site(user=cdc) == []
    lags = selectors.lag_summary(user=cdc)
    assert lags["doses"] == 3 and lags["late"] == 3
    assert lags["upload_median_h"] >= 72


def test_the_lags_of_a_prompt_upload(desk1, village_a1, vaccinator, endpoint, receiver, cdc):
    give(desk1, village_a1, vaccinator, 2)
    services.outbox_drain()
    lags = selectors.lag_summary(user=cdc)
    assert lags["doses"] == 2 and lags["late"] == 0
    assert 0 <= lags["entry_median_h"] < 1 and lags["upload_max_h"] < 1


def test_the_backlog_is_scoped(desk1, village_a1, vaccinator, endpoint, monkeypatch, worker_b):
    give(desk1, village_a1, vaccinator, 1)
    _days_later(monkeypatch, 3)
    assert selectors.backlog_by_site(user=worker_b) == []


def test_a_site_with_a_backlog_is_notified_once_a_day(
    desk1, village_a1, vaccinator, endpoint, monkeypatch, sms_outbox
):
    give(desk1, village_a1, vaccinator, 2)
    StaffMember.objects.filter(site=desk1.site, name="registration员").update(phone="13900001111")
    assert notices.backlog_notify() == 0
    _days_later(monkeypatch, 3)
    assert notices.backlog_notify() == 1
    assert notices.backlog_notify() == 0  # the same day: once
    from vaxops.notify.models import Notification

    n = Notification.objects.get(template=notices.TEMPLATE)
    assert n.phone == "13900001111" and "2剂次" in n.text and "超过2天未上传" in n.text


def test_the_county_page_lists_the_sites_and_the_site_page_the_doses(
    desk1, village_a1, vaccinator, endpoint, monkeypatch, cdc, client
):
    give(desk1, village_a1, vaccinator, 2)
    OutboundMessage.objects.update(state="failed", error="对方拒收 HTTP 422")
    _days_later(monkeypatch, 3)
    client.force_login(cdc)
    page = client.get("/exchange/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-site="S1"' in html and "甲镇卫生院接种门诊" in html
    assert 'data-endpoint="province"' in html
    site = client.get(f"/exchange/sites/{desk1.site.pk}/")
    assert site.status_code == 200
    assert site.content.decode().count("data-dose=") == 2
    assert "王小明" not in site.content.decode()  # masked
    retry = client.post(
        "/exchange/retry/", {"id": list(OutboundMessage.objects.values_list("pk", flat=True))}
    )
    assert retry.status_code == 302
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"pending"}


@pytest.mark.parametrize("who", ["worker_a", "vaccinator"])
def test_roles_without_the_exchange_are_refused(who, request, client, county):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/exchange/").status_code == 403


def test_the_daily_report_and_the_dashboard_count_the_backlog(
    desk1, village_a1, vaccinator, endpoint, monkeypatch, cdc, client
):
    give(desk1, village_a1, vaccinator, 2)
    _days_later(monkeypatch, 3)
    client.force_login(cdc)
    for path in ("/reports/daily/", "/reports/dashboard/"):
        html = client.get(path).content.decode()
        block = html[html.index('id="exchange-backlog"') :][:300]
        assert "超过2天未上传省级/国家平台的剂次：2" in block, path
        assert 'href="/exchange/"' in block
