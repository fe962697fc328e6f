"""rsengine_rithmic: being written (issue 13)."""
