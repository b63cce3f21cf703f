"""Running experiments: designs, runs, sweeps and their results store."""
