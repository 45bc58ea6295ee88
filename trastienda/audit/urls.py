from trastienda.audit.views import AuditEntryViews

app_name = "audit"

urlpatterns = AuditEntryViews.urls()
