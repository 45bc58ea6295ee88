"""Pages of the active company (under ``/c/<code>/``)."""

from django.urls import path

from trastienda.core import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
