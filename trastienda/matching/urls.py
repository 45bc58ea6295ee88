"""Pages of matching: the exception queue."""

from trastienda.matching import views

app_name = "matching"

urlpatterns = [*views.urlpatterns]
