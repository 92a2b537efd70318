"""Streaming sketches: summary quantiles (CKMS) and native histograms."""
