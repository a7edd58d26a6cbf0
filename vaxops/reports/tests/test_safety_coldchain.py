"""The daily report's and the dashboard's block on vaccine safety and the cold chain: AEFI reported today,
serious, open, clocks late; open excursions and quarantined doses — with the township column and the
dashboard's severe count filled from safety's reports."""

import datetime as dt

from vaxops.coldchain.tests.helpers import equipment_for, feed
from vaxops.core import clock
from vaxops.reports.safety_coldchain import safety_coldchain_block
from vaxops.reports.selectors import actor_scope, adverse_events_today, severe_adverse_events
from vaxops.safety import services as safety_services
from vaxops.safety.tests.conftest import *  # noqa: F403
from vaxops.safety.tests.conftest import give, note


def test_block_counts_aefi_and_excursions(client, desk1, village_a1, vaccinator, nurse, hospitals, cdc):
    scope = actor_scope(cdc)
    empty = safety_coldchain_block(scope=scope, day=clock.today())
    assert (empty["aefi"]["reported_today"], empty["coldchain"]["open"]) == (0, 0)

    dose = give(desk1, village_a1, vaccinator, 1, 1)
    safety_services.report_from_note(actor=nurse, note=note(dose), refer=False)
    eq = equipment_for(desk1.place)
    start = clock.now() - dt.timedelta(hours=3)
    feed(eq, start, [5.0] + [-1.0] * 61 + [5.0])  # a freeze of 60 minutes: the unit's stock quarantined

    block = safety_coldchain_block(scope=scope, day=clock.today())
    assert (block["aefi"]["reported_today"], block["aefi"]["serious_today"], block["aefi"]["open"]) == (
        1,
        1,
        1,
    )
    assert block["coldchain"]["open_by_kind"]["freeze"] == 1 and block["coldchain"]["open"] >= 1
    assert block["coldchain"]["quarantined_doses"] == 9  # ten received, one given before the freeze
    township = village_a1.parent.code
    assert adverse_events_today(codes=[township], day=clock.today()) == {township: 1}
    assert severe_adverse_events(low="330199000000", high="330199999999", day=clock.today()) == 1
    assert severe_adverse_events(low="330198000000", high="330198999999", day=clock.today()) == 0

    client.force_login(cdc)
    for url in ("/reports/daily/", "/reports/dashboard/"):
        body = client.get(url).content.decode()
        assert 'id="safety-coldchain"' in body, url
        assert (
            'data-safety="reported_today">1<' in body and 'data-coldchain="quarantined_doses">9<' in body
        ), url
