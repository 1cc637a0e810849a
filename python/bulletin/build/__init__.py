"""Build steps for artifacts committed to the repository (bulletin.xlsm)."""
