"""The declaration: indicators.yaml read into a typed model, its quarters, and the partners'
template built from it."""
