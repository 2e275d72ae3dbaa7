"""Benchmarks: figures printed side by side with their floors (``make bench``). Never deployed."""
