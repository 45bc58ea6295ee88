"""Pages of billing, under ``/c/<code>/billing/``: each area declares its own ``urlpatterns``."""

from trastienda.billing import (
    dunning_views,
    invoice_import_views,
    invoice_views,
    partner_views,
    payment_views,
    printing_views,
    receivable_views,
    recurring_views,
    vat_views,
)

app_name = "billing"

urlpatterns = [
    *partner_views.urlpatterns,
    *invoice_import_views.urlpatterns,
    *invoice_views.urlpatterns,
    *payment_views.urlpatterns,
    *printing_views.urlpatterns,
    *recurring_views.urlpatterns,
    *receivable_views.urlpatterns,
    *dunning_views.urlpatterns,
    *vat_views.urlpatterns,
]
