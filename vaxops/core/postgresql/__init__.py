"""The PostgreSQL backend of VaxOps: Django's, with a health check that costs no round trip on a busy
connection (``base.DatabaseWrapper.is_usable``)."""
