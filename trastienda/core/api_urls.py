"""REST API v1, mounted at ``/api/v1/``.

Routes: ``auth/token/`` (obtain/revoke a token), ``me/``, ``schema/`` (OpenAPI 3), ``docs/``
(Swagger UI), and every viewset registered on :data:`trastienda.core.api.router` by the
``api.py`` modules of the installed Trastienda apps (imported here by ``autodiscover``).
Anything else under ``/api/v1/`` answers a 404 in the API's error format.
"""

from django.urls import include, path, re_path

from trastienda.core import api

api.autodiscover()

app_name = "api"

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="token"),
    path("me/", api.MeView.as_view(), name="me"),
    path("schema/", api.SchemaView.as_view(), name="schema"),
    path("docs/", api.DocsView.as_view(), name="docs"),
    path("", include(api.router.urls)),
    re_path(r"^.*$", api.not_found),
]
