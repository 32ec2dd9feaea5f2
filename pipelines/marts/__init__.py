"""Marts: what the KPIs count, read from the store. Each counting rule is written once (counted
rows); the KPIs sum them, provenance lists them, pages and the export read them."""
