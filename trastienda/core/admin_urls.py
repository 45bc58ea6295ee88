"""Company administration (under ``/c/<code>/admin/``): settings, roles, members."""

from django.urls import include, path

from trastienda.core.admin_pages import CompanySettingsView, MemberViews, RoleViews

app_name = "company_admin"

urlpatterns = [
    path("settings/", CompanySettingsView.as_view(), name="settings"),
    path("roles/", include(RoleViews.urls())),
    path("members/", include(MemberViews.urls())),
]
