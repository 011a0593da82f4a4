from django.urls import include, path

urlpatterns = [path("surveys/", include("djf_surveys.urls"))]
