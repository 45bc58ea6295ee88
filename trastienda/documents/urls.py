from django.urls import path

from trastienda.documents.views import DocumentDownloadView, DocumentViews

app_name = "documents"

urlpatterns = [
    *DocumentViews.urls(),
    path("<int:pk>/download/", DocumentDownloadView.as_view(), name="document_download"),
]
