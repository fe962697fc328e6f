"""rsengine_panel: being written (issue 13)."""
