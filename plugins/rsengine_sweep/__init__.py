"""rsengine_sweep: being written (issue 14)."""
