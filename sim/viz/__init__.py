"""Figures, reports and the dashboard."""
