"""Studies: grids of fine-tuning runs over any config key, run once with resume, and reported.

``study`` reads and validates a study file and expands its grid into named runs; ``runner``
pretrains each SSL method once, runs the grid (skipping finished runs, recording failures,
printing progress and cost estimates); ``twin_eval`` scores runs on other collections with
green/yellow twins excluded; ``results`` reads finished runs back and computes the paired
statistics; ``report`` and ``plots`` write the tables, figures and TensorBoard layout;
``cli`` is ``fncssl study``.
"""
