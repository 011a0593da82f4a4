"""What surveys announce to the apps above them, which it never imports."""

from django.dispatch import Signal

# Sent once an answer (new, changed or confirmed) is committed, with `response_id`.
# Response.needs_evaluation stays True until a receiver has dealt with it, so a lost
# signal (a broker outage) is found again by a sweep.
response_recorded = Signal()

# Sent inside the transaction that records an invitation's first answer, once it is
# written, with `invitation` (marked answered) and `response` (its first answer): a
# receiver's writes commit or roll back with the answer. Sent from
# surveys.services.record_response, which writes both without a model save (issue 15:
# one statement on PostgreSQL), so no pre_save or post_save comes for a first answer:
# this signal is how the apps above learn of it. A changed answer is saved as ever.
invitation_answered = Signal()
