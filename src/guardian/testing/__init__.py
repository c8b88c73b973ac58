"""Test and drill helpers. NOT for production signing: the Ledger emulator lives here."""
