"""What a new company gets in billing: taxes of its country, payment terms, invoice series
and settings with default accounts from its chart. Idempotent; registered in ``ready()``."""

from __future__ import annotations

from trastienda.core.models import Company
from trastienda.core.services import company_setup_step


@company_setup_step
def company_billing_setup(company: Company) -> None:
    from trastienda.billing.defaults import billing_defaults_load

    billing_defaults_load(company=company)
