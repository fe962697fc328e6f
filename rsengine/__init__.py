"""rsengine: relative strength across the US equity index futures."""

__version__ = "0.1.0"
