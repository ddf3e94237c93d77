from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns

from . import views

urlpatterns = [
    path("bench/bare", views.bare),
    path("bench/floor", views.floor),
    path("bench/fair-floor", views.fair_floor),
    *portal_urlpatterns,
]
