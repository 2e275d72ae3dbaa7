"""Thin Cloud Function entry points, one per endpoint, grouped by resource.

A handler parses and validates, makes one domain call, and maps the result; no business rule
lives here. ``functions.registry`` lists them all.
"""
