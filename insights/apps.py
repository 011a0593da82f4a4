from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from surveys.signals import response_recorded

        from . import receivers

        response_recorded.connect(receivers.evaluate_recorded_response, dispatch_uid="insights-evaluate-response")
