"""fncssl.evaluation (see DESIGN.md)."""
