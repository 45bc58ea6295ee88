"""Root URLs. Company pages live under ``/c/<code>/``; the API under ``/api/v1/``."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from trastienda.core import views as core_views

handler403 = "trastienda.core.views.error_403"
handler404 = "trastienda.core.views.error_404"
handler500 = "trastienda.core.views.error_500"

company_patterns = [
    path("", include("trastienda.core.company_urls")),
    path("admin/", include("trastienda.core.admin_urls")),
    path("audit/", include("trastienda.audit.urls")),
    path("documents/", include("trastienda.documents.urls")),
    path("ledger/", include("trastienda.ledger.urls")),
    path("billing/", include("trastienda.billing.urls")),
    path("banking/", include("trastienda.banking.urls")),
    path("matching/", include("trastienda.matching.urls")),
    path("trading/", include("trastienda.trading.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("accounts/", include("trastienda.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("core/", include("trastienda.core.urls")),
    path("c/<str:company>/", include(company_patterns)),
    path("api/v1/", include("trastienda.core.api_urls")),
    path(settings.TRASTIENDA_ADMIN_URL, admin.site.urls),
]
