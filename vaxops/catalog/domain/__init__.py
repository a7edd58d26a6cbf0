"""The rules engine of the vaccine catalogue (pure: no Django, no clock)."""

from .forecast import *  # noqa: F403
from .forecast import __all__  # noqa: F401
