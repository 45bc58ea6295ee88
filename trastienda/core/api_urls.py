"""REST API v1."""

urlpatterns: list = []
