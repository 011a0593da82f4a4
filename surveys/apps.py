from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_delete, post_save

        from customers.signals import contact_erased

        from . import page_setup, receivers
        from .models import Sender, Survey, SurveyText

        contact_erased.connect(receivers.contact_erased, dispatch_uid="surveys-contact-erased")
        for model in (Sender, Survey, SurveyText):
            for signal in (post_save, post_delete):
                signal.connect(page_setup.forget, sender=model, dispatch_uid=f"surveys-page-setup-{model.__name__}")
        # What the pages keep was rendered under the settings of the time (DEBUG adds a script, say).
        setting_changed.connect(page_setup.forget, dispatch_uid="surveys-page-setup-settings")
