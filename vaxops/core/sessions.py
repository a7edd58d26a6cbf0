"""The session store (``SESSION_ENGINE``): Django's database sessions with a throttled renewal.

Idle sessions end after ``SESSION_COOKIE_AGE`` (30 minutes): with ``SESSION_SAVE_EVERY_REQUEST`` Django's session
middleware saves the session on every request to push its expiry on, one UPDATE per page. Here a session that
nothing changed is written again only when its last write is ``VAXOPS_SESSION_SAVE_INTERVAL`` seconds old or more
(the moment of each write is kept in the session itself); saving it otherwise changes nothing. A user who keeps
working is never logged out (every interval one request renews the session); one idle for ``SESSION_COOKIE_AGE``
is always logged out — up to the interval earlier, since the expiry counts from the last write, not the last
request. A changed session (a login, a language, a message) is written at once, as before. Django's middleware,
cookie and checks are unchanged.
"""

from django.conf import settings
from django.contrib.sessions.backends import db

from . import clock

# Epoch seconds of the session's last write.
SAVED_AT = "_vaxops_saved_at"


class SessionStore(db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        if not must_create and not self.modified and self.session_key is not None and not self._renewal_due():
            return
        self[SAVED_AT] = int(clock.now().timestamp())
        super().save(must_create=must_create)

    def _renewal_due(self) -> bool:
        """Whether the last write is at least the interval old (or unknown, or in the future)."""
        saved = self.get(SAVED_AT)
        if not isinstance(saved, int | float):
            return True
        age = clock.now().timestamp() - saved
        return not 0 <= age < settings.VAXOPS_SESSION_SAVE_INTERVAL
