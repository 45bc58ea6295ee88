"""Pages of trading, under ``/c/<code>/trading/``."""

from trastienda.trading import views

app_name = "trading"

urlpatterns = [*views.urlpatterns]
