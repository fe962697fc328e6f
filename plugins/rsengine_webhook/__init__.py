"""Output ``webhook``: being built (issue 11)."""
