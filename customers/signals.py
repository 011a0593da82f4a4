"""What customers announces to the apps above it, which it never imports."""

from django.dispatch import Signal

# Sent once committed, for each contact that stops being reachable (a hard bounce, soft
# bounces reaching the limit, a spam complaint, an opt-out), with `contact_id` and
# `customer_id`. Receivers only hand it on: a signal lost with the broker down is found
# again by insights' sweep, which reads the contacts themselves.
contact_unreachable = Signal()

# Sent while a contact is being erased on request (services.erase_contact), inside its
# transaction and synchronously, with `contact_id`, `customer_id`, `email` (the erased
# address, lower-cased), `name` (the erased name) and `replacement` (the placeholder
# address that stands in its place). Each app above scrubs what it keeps of the
# contact: comments, links, alert texts. A receiver that fails rolls the whole erasure
# back, so nothing is ever half-erased.
contact_erased = Signal()

# Sent inside the writing transaction when customers written other than by a model save
# (which sends post_save) may have changed tier, account manager, 12-month revenue or
# active flag, with `customer_ids` (None: any customer, as after the value metrics'
# recompute). Receivers keep what they derive from those in step; a receiver that
# fails rolls the change back.
customers_changed = Signal()
