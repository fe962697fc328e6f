"""Output ``ninjatrader``: being built (issue 11)."""
