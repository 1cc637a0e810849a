"""The pure core: works on plain data and pandas DataFrames, never on files."""
