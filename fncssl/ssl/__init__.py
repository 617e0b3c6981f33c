"""fncssl.ssl (see DESIGN.md)."""
