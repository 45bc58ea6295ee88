from django.urls import include, path

from trastienda.ledger import views

app_name = "ledger"

urlpatterns = [
    path("entries/", include(views.entry_urls())),
    path("accounts/import/", views.ChartImportView.as_view(), name="account_import"),
    path("accounts/", include(views.AccountViews.urls())),
    path("journals/", include(views.JournalViews.urls())),
    path("fiscal-years/", include(views.FiscalYearViews.urls())),
    path("periods/", include(views.PeriodViews.urls())),
    path("settings/", include(views.LedgerSettingsViews.urls())),
    path("currencies/", include(views.CurrencyViews.urls())),
    path("exchange-rates/import/", views.RatesImportView.as_view(), name="exchangerate_import"),
    path("exchange-rates/", include(views.ExchangeRateViews.urls())),
    path("cost-centres/", include(views.CostCentreViews.urls())),
    path("projects/", include(views.ProjectViews.urls())),
]
