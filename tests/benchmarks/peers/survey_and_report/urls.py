from django.urls import include, path

# As its README mounts it; its pages reverse names such as "survey-list" unprefixed.
urlpatterns = [path("survey/", include("survey.urls"))]
