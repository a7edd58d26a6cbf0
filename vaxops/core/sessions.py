"""The session middleware with a throttled renewal.

Idle sessions end after ``SESSION_COOKIE_AGE`` (30 minutes): with ``SESSION_SAVE_EVERY_REQUEST`` Django writes
the session on every request to push its expiry on, one UPDATE per page. Here a session that nothing changed is
written again only when its last write is ``VAXOPS_SESSION_SAVE_INTERVAL`` seconds old or more (the moment of
each write is kept in the session itself). A user who keeps working is never logged out (every interval one
request renews the session); one idle for ``SESSION_COOKIE_AGE`` is always logged out — up to the interval
earlier, since the expiry counts from the last write, not the last request. A changed session (a login, a
message) is written at once, as before.
"""

import time

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

from . import clock

# Epoch seconds of the session's last write.
SAVED_AT = "_vaxops_saved_at"


def _renewal_due(session) -> bool:
    """Whether an unchanged session's last write is at least the interval old (or unknown, or in the future)."""
    accessed = session.accessed
    saved = session.get(SAVED_AT)  # loads the session: reading it is not the view's access
    session.accessed = accessed
    if not isinstance(saved, int | float):
        return True
    age = clock.now().timestamp() - saved
    return not 0 <= age < settings.VAXOPS_SESSION_SAVE_INTERVAL


class ThrottledSessionMiddleware(SessionMiddleware):
    def process_response(self, request, response):
        """Django's ``SessionMiddleware.process_response``, but an unchanged session is saved only when its
        renewal is due (see the module)."""
        try:
            accessed = request.session.accessed
            modified = request.session.modified
            empty = request.session.is_empty()
        except AttributeError:
            return response
        if settings.SESSION_COOKIE_NAME in request.COOKIES and empty:
            response.delete_cookie(
                settings.SESSION_COOKIE_NAME,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
            need_vary_cookie = True
        else:
            need_vary_cookie = accessed
            if (modified or settings.SESSION_SAVE_EVERY_REQUEST) and not empty and response.status_code < 500:
                # A session saved every request answered with a cookie and ``Vary: Cookie``: the Vary stays.
                need_vary_cookie = True
                if modified or _renewal_due(request.session):
                    self._save(request, response)
        if need_vary_cookie:
            patch_vary_headers(response, ("Cookie",))
        return response

    @staticmethod
    def _save(request, response) -> None:
        session = request.session
        if session.get_expire_at_browser_close():
            max_age = None
            expires = None
        else:
            max_age = session.get_expiry_age()
            expires = http_date(time.time() + max_age)
        session[SAVED_AT] = int(clock.now().timestamp())
        try:
            session.save()
        except UpdateError:
            raise SessionInterrupted(
                "The request's session was deleted before the request completed. The user may have logged out "
                "in a concurrent request, for example."
            ) from None
        response.set_cookie(
            settings.SESSION_COOKIE_NAME,
            session.session_key,
            max_age=max_age,
            expires=expires,
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE or None,
            httponly=settings.SESSION_COOKIE_HTTPONLY or None,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
