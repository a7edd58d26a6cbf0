"""What the record tells the apps above it. clinic sits below campaign, booking, supply and certs and never
imports them; they connect receivers here (in their ``AppConfig.ready``) and react.

Every signal here is sent inside the writing transaction with ``send`` (not ``send_robust``): a receiver's
writes commit or roll back with the record's, and a receiver's error undoes the whole change.
"""

from django.dispatch import Signal

# A person's record changed (a dose recorded or voided, a screening, a contraindication lifted).
# kwargs: ``resident_ids`` (list of ids); for one person, optionally ``resident`` (the row), ``inputs`` (the
# engine's inputs the caller has just read and extended) and ``on`` (the day), so a receiver need not read
# the history again; a dose just recorded also gives ``dose`` (the desk's: the row about to be written in the same
# transaction; an external dose: the row just written).
# campaign: recomputes the stored mobilisation status; reports: the progress facts follow.
record_changed = Signal()

# A dose was voided (already marked voided, its own record links revoked).
# kwargs: ``dose``, ``actor``, ``reason`` (the void reason as entered), ``disposition`` ("returned",
# "wasted" or None), ``at`` (the moment of the void).
# supply: the traceability code goes back into stock or is written off; booking: the completed appointment
# is cancelled so the dose may be booked anew; certs: the certificates covering the dose are revoked.
dose_voided = Signal()

# A dose given here was corrected (its time of administration or injection site; the code, lot and person
# stay). kwargs: ``dose`` (as corrected), ``actor``, ``old`` (the changed fields' old values), ``at``.
# exchange: the corrected dose goes out again as an update of the same Immunization.
dose_corrected = Signal()

# Asked when a resident is outside the actor's jurisdiction: may the actor still record for them?
# kwargs: ``actor``, ``resident_id``; a receiver returns True to allow.
# booking: the person is checked in today at the site where the actor works (a site serves the county).
resident_reach = Signal()

# Asked when a dose's person is outside the actor's jurisdiction: may the actor still see the dose (to share
# or revoke the person's record link)? kwargs: ``actor``, ``dose``; a receiver returns True to allow.
# sites: the dose was given at the site where the actor works (a walk-in from elsewhere).
dose_reach = Signal()
