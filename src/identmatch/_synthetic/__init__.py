"""Synthetic people and their records, with known truth, and the bundled demo files.

Owns the generator (generate, records), its invented name tables (names), the hard profile's
rates (profiles) and the demo files' paths (demo).

May import: the top-level modules and any lower package. Internal: users import from
``identmatch``.
"""
