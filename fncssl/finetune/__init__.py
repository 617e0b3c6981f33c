"""fncssl.finetune (see DESIGN.md)."""
