from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from customers.signals import contact_erased

        from . import receivers

        contact_erased.connect(receivers.contact_erased, dispatch_uid="surveys-contact-erased")
