from django.urls import path

from .partner_page import views

urlpatterns = [
    path(
        "partners/instructions/<str:token>/",
        views.partner_instructions,
        name="partner-instructions",
    ),
]
