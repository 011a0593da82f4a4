"""What surveys announce to the apps above them, which it never imports."""

from django.dispatch import Signal

# Sent once an answer (new, changed or confirmed) is committed, with `response_id`.
# Response.needs_evaluation stays True until a receiver has dealt with it, so a lost
# signal (a broker outage) is found again by a sweep.
response_recorded = Signal()
