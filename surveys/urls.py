from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("s/<str:token>/", views.respond, name="respond"),
    path("s/<str:token>/thanks/", views.thanks, name="thanks"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("logo/<str:digest>/", views.logo, name="logo"),
]
