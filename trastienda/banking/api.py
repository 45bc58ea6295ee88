"""REST API of banking, under ``/api/v1/banking/``: each area registers its viewsets."""

from trastienda.banking import (  # noqa: F401  (importing registers the routes)
    account_api,
    reconcile_api,
    sepa_api,
    statement_api,
)
