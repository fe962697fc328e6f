"""rsengine_ib: being written (issue 13)."""
