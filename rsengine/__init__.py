"""rsengine: relative strength across the US equity index futures."""

__version__ = "0.1.0"

from rsengine.hookspecs import hookimpl  # noqa: E402  (plugins write @rsengine.hookimpl)

__all__ = ["__version__", "hookimpl"]
