"""fncssl.models (see DESIGN.md)."""
