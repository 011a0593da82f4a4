from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("contacts/<int:pk>/erase/", views.erase_contact, name="erase-contact"),
    path("deliverability/", views.deliverability_page, name="deliverability"),
    path("deliverability/re-enable/", views.reenable_address, name="reenable"),
    path("deliverability/resume/", views.resume_sending, name="resume-sending"),
]
