"""What customers announces to the apps above it, which it never imports."""

from django.dispatch import Signal

# Sent once committed, for each contact that stops being reachable (a hard bounce, soft
# bounces reaching the limit, a spam complaint, an opt-out), with `contact_id` and
# `customer_id`. Receivers only hand it on: a signal lost with the broker down is found
# again by insights' sweep, which reads the contacts themselves.
contact_unreachable = Signal()
