"""Foreign currencies in the ledger: per-currency balancing on posting and period-end revaluation.

``balance_currencies`` is called by ``services.entry_post`` inside the posting transaction,
before validation: it may add the lines that book a currency's exchange difference and returns
the errors that must stop the posting, keyed like the other posting errors (``lines``,
``lines.N``).
"""

from __future__ import annotations

from trastienda.ledger.models import JournalEntry, JournalEntryLine


def balance_currencies(
    entry: JournalEntry, lines: list[JournalEntryLine]
) -> tuple[list[JournalEntryLine], dict[str, list[str]]]:
    """The entry's lines, completed by exchange-difference lines where needed, and errors."""
    return lines, {}
