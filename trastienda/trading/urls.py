"""Pages of trading, under ``/c/<code>/trading/``."""

from trastienda.trading import (
    views,
    views_brokers,
    views_compliance,
    views_expiry,
    views_positions,
    views_settlement,
)

app_name = "trading"

urlpatterns = [
    *views.urlpatterns,
    *views_brokers.urlpatterns,
    *views_positions.urlpatterns,
    *views_expiry.urlpatterns,
    *views_settlement.urlpatterns,
    *views_compliance.urlpatterns,
]
