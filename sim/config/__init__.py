"""Scenarios and experiments as validated data: schemas, parameter docs, chip data."""
