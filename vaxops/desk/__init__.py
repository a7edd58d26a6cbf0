"""The vaccination desk (its pages are still in ``vaxops.clinic.desk_views``)."""
