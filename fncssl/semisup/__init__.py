"""Semi-supervised fine-tuning: offline pseudo-labels from a teacher, and online consistency."""
