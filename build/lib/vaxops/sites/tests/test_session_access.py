"""The session day sheet follows one access rule for the page and the API: a role the API refuses is refused
by the page too (issue 11, Low: the page answered 200 where the API answered 403)."""

import pytest

from vaxops.accounts.services import api_token_create, user_create
from vaxops.booking.tests.factories import session, site
from vaxops.conftest import PASSWORD
from vaxops.jurisdictions.models import Division


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _api_status(client, user, session_id: int) -> int:
    _, raw = api_token_create(user=user, name="test")
    return client.get(f"/api/v1/sites/sessions/{session_id}", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


@pytest.mark.django_db
def test_the_session_page_and_the_api_give_the_same_answer_to_every_role(
    client, cdc, worker_a, worker_b, employer_contact, leader, village_a1
):
    planned = session(site(village_a1), cdc)
    other_township = user_create(
        username="town_b",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199002000"),
    )
    answers = {}
    for user in (cdc, leader, worker_a, worker_b, employer_contact, other_township):
        client.force_login(user)
        page = client.get(f"/sites/sessions/{planned.pk}/").status_code
        client.logout()
        answers[user.username] = (page, _api_status(client, user, planned.pk))
    assert answers["cdc"] == (200, 200)
    assert answers["leader"] == (200, 200)
    # a village worker in the other township, a township worker there, an employer contact: refused by both
    assert answers["worker_b"] == (403, 403)
    assert answers["town_b"] == (403, 403)
    assert answers["contact"] == (403, 403)
    assert all(page == api for page, api in answers.values()), answers


@pytest.mark.django_db
def test_an_unknown_session_is_404_on_the_page_and_the_api(client, cdc):
    client.force_login(cdc)
    assert client.get("/sites/sessions/999999/").status_code == 404
    assert _api_status(client, cdc, 999999) == 404
