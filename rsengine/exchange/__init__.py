"""The exchange side of time: trading sessions on a maintained calendar, the
bars on them, the contract table and rolls, settlement prices, and scheduled
releases."""
