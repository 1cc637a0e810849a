"""Adapters translate between the core's plain data and the outside world (files, Excel, mail)."""
