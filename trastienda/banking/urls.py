"""Pages of banking, under ``/c/<code>/banking/``: each area declares its own ``urlpatterns``."""

from trastienda.banking import (
    account_views,
    cash_views,
    reconcile_views,
    sepa_views,
    statement_views,
)

app_name = "banking"

urlpatterns = [
    *account_views.urlpatterns,
    *statement_views.urlpatterns,
    *reconcile_views.urlpatterns,
    *sepa_views.urlpatterns,
    *cash_views.urlpatterns,
]
