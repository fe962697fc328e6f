"""The application around the engine: the ``rsengine`` command, logging, and
what the command prints besides signals."""
