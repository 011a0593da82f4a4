from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from customers.queries import also_visible
        from core.metrics import add_collector
        from customers.sections import add_section
        from customers.signals import contact_erased, contact_unreachable, customers_changed
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save, pre_save

        from customers.models import Customer
        from surveys.models import Response
        from surveys.signals import invitation_answered, response_recorded

        from . import receivers
        from .metrics import alert_metrics
        from .models import LatestAnswer
        from .alerts.queries import customers_handed_to

        response_recorded.connect(receivers.evaluate_recorded_response, dispatch_uid="insights-evaluate-response")
        contact_unreachable.connect(
            receivers.contact_became_unreachable, dispatch_uid="insights-contact-became-unreachable"
        )
        # The rollups the insights read, kept in the transaction that saves an answer.
        pre_save.connect(receivers.answer_changing, sender=Response, dispatch_uid="insights-answer-changing")
        post_save.connect(receivers.answer_saved, sender=Response, dispatch_uid="insights-answer-saved")
        post_delete.connect(receivers.answer_deleted, sender=Response, dispatch_uid="insights-answer-deleted")
        post_delete.connect(receivers.latest_answer_deleted, sender=LatestAnswer,
                            dispatch_uid="insights-latest-answer-deleted")
        customers_changed.connect(receivers.customers_changed, dispatch_uid="insights-customers-changed")
        post_save.connect(receivers.customer_saved, sender=Customer, dispatch_uid="insights-customer-saved")
        # A deleted user leaves their customers without a manager (SET_NULL), unannounced.
        post_delete.connect(receivers.manager_deleted, sender=get_user_model(), dispatch_uid="insights-manager-deleted")
        invitation_answered.connect(receivers.invitation_answered, dispatch_uid="insights-invitation-answered")
        contact_erased.connect(receivers.contact_erased, dispatch_uid="insights-contact-erased")
        also_visible(customers_handed_to)
        # The customer page loads the customer's timeline (insights.timeline) into itself.
        add_section("insights/partials/timeline_loader.html")
        add_collector(alert_metrics)
