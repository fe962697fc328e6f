"""The exchange side of time: trading sessions on a maintained calendar, the
contract table and rolls, settlement prices, and scheduled releases."""
