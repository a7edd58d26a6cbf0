"""Work queued while serving runs once the response is closed (after the body is written), not before."""

import pytest
from django.http import HttpResponse

from vaxops.core.afterresponse import AfterResponseMiddleware, after_response


@pytest.mark.django_db  # closing a response ends the request, which tidies database connections
def test_work_waits_for_the_response_to_close(rf):
    done = []

    def view(request):
        after_response(lambda: done.append("sent"))
        assert done == []
        return HttpResponse("ok")

    response = AfterResponseMiddleware(view)(rf.get("/"))
    assert done == []
    response.close()
    assert done == ["sent"]


@pytest.mark.django_db
def test_a_failure_after_the_response_is_logged_not_raised(rf, caplog):
    def view(request):
        after_response(lambda: 1 / 0)
        return HttpResponse("ok")

    AfterResponseMiddleware(view)(rf.get("/")).close()
    assert "after the response failed" in caplog.text


def test_outside_a_request_work_runs_at_once():
    done = []
    after_response(lambda: done.append(1))
    assert done == [1]
