"""Measurement: rate-distortion points through real files, and BD-rate against published curves."""
