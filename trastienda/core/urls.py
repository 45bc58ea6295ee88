from django.urls import path

from trastienda.core import views

app_name = "core"

urlpatterns = [
    path("home/", views.home, name="home"),
    path("language/", views.set_language, name="set_language"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("table-columns/", views.table_columns, name="table_columns"),
]
