"""Analyses of stored results: trajectories, what-if comparisons, sensitivity, export."""
