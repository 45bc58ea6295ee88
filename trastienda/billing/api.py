"""REST API of billing, under ``/api/v1/billing/``: each area registers its viewsets."""

from trastienda.billing import (  # noqa: F401  (importing registers the routes)
    dunning_api,
    invoice_api,
    partner_api,
    payment_api,
    printing_api,
    receivable_api,
    recurring_api,
    vat_api,
)
