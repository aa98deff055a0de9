"""Store credit: an account per customer and currency, and its double-entry ledger."""
