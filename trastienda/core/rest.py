"""Classes named in ``REST_FRAMEWORK`` settings: permission, pagination, exception handler.

Kept apart from :mod:`trastienda.core.api` because DRF imports them while its own
settings load; this module must not import ``rest_framework.views`` at import time.
"""

from typing import Any

from rest_framework import permissions
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class CompanyPermission(permissions.IsAuthenticated):
    pass


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)
