"""The EU reporting export: a frozen snapshot of the inputs, the pack's tables, the files."""
