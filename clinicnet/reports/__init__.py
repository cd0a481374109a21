"""Turning probe results into findings, a verdict and readable reports."""
