"""What surveys announce to the apps above them, which it never imports."""

from django.dispatch import Signal

# Sent once an answer (new, changed or confirmed) is committed, with `response_id`.
# Response.needs_evaluation stays True until a receiver has dealt with it, so a lost
# signal (a broker outage) is found again by a sweep.
response_recorded = Signal()

# Sent inside the transaction that marks an invitation answered (its first answer),
# with `invitation`: a receiver's writes commit or roll back with the answer. Sent from
# surveys.services.record_response, which marks it with one UPDATE, not a save().
invitation_answered = Signal()
