from __future__ import annotations

from django import forms

from . import queries

MAX_NOTE_LENGTH = 4000
_TOO_LONG = "Keep it to %(limit_value)d characters (it has %(show_value)d)."


class AcknowledgeForm(forms.Form):
    """Acknowledging needs nothing but the button."""


class NoteForm(forms.Form):
    note = forms.CharField(
        max_length=MAX_NOTE_LENGTH,
        error_messages={"required": "Write the note first: it is empty.", "max_length": _TOO_LONG},
    )


class ResolveForm(forms.Form):
    note = forms.CharField(
        label="Resolution note",
        max_length=MAX_NOTE_LENGTH,
        error_messages={
            "required": "Resolution note is required: say how it was resolved.",
            "max_length": _TOO_LONG,
        },
    )


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=queries.assignable_users(),
        required=False,  # empty: the CX leads
        error_messages={"invalid_choice": "Choose an active account manager or the CX leads."},
    )
