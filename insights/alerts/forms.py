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
    reason = forms.CharField(
        label="Reason",
        max_length=MAX_NOTE_LENGTH,
        error_messages={
            "required": "Reason is required: say why you hand it over (the new assignee reads it).",
            "max_length": _TOO_LONG,
        },
    )


class ReopenForm(forms.Form):
    note = forms.CharField(
        label="Why reopen",
        max_length=MAX_NOTE_LENGTH,
        error_messages={"required": "Say why it is reopened: the note is required.", "max_length": _TOO_LONG},
    )


class CloseAtRiskForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_NOTE_LENGTH,
        error_messages={"required": "Reason is required: say why the customer is no longer at risk.",
                        "max_length": _TOO_LONG},
    )


class AlertIdsField(forms.Field):
    """The ticked alerts of a queue page: ids, as many as were ticked."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick the alerts to acknowledge first: none is ticked.",
        "invalid": "Those are not alerts of the queue.",
    }

    def to_python(self, value):
        values = value or []
        if not all(str(item).isdigit() for item in values):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return [int(item) for item in values]


class BulkAcknowledgeForm(forms.Form):
    alert = AlertIdsField()
    q = forms.CharField(required=False, max_length=100)  # the queue's search, to go back to it
