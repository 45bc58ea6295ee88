from django.urls import include, path

from trastienda.ledger import reports, statement_views, views
from trastienda.ledger.budget_views import BudgetReportView, budget_urls
from trastienda.ledger.closing_views import FiscalYearClosingView
from trastienda.ledger.fx_views import RevaluationView
from trastienda.ledger.import_views import EntryImportView
from trastienda.ledger.plaintext_views import BooksExportView

app_name = "ledger"

urlpatterns = [
    path("entries/import/", EntryImportView.as_view(), name="journalentry_import"),
    path("entries/", include(views.entry_urls())),
    path("accounts/import/", views.ChartImportView.as_view(), name="account_import"),
    path("accounts/search/", views.AccountSearchView.as_view(), name="account_search"),
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
    path("budgets/", include(budget_urls())),
    path(
        "reports/trial-balance/",
        reports.TrialBalanceView.as_view(),
        name="report_trial_balance",
    ),
    path(
        "reports/general-ledger/",
        reports.GeneralLedgerView.as_view(),
        name="report_general_ledger",
    ),
    path("reports/journal-book/", reports.JournalBookView.as_view(), name="report_journal_book"),
    path(
        "reports/profit-and-loss/",
        statement_views.ProfitAndLossView.as_view(),
        name="report_profit_and_loss",
    ),
    path(
        "reports/balance-sheet/",
        statement_views.BalanceSheetView.as_view(),
        name="report_balance_sheet",
    ),
    path("reports/books-export/", BooksExportView.as_view(), name="report_books_export"),
    path(
        "reports/budget-vs-actual/",
        BudgetReportView.as_view(),
        name="budget_report",
    ),
    path(
        "fiscal-years/<int:pk>/closing/",
        FiscalYearClosingView.as_view(),
        name="fiscalyear_closing",
    ),
    path("revaluation/", RevaluationView.as_view(), name="revaluation"),
]
