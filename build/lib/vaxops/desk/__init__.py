"""The vaccination desk (接种台): its screens, API and orchestration over the person's record in ``clinic``."""
