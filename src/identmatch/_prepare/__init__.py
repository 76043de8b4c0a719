"""Preparing records: read once, standardise every value once per record.

Owns reading inputs (read), the one missing-value rule and value standardisers
(standardise), name tables and parsing (names, nicknames), phonetic codes, identifier kinds,
declared columns, the prepared columns and their Arrow types (records, arrow), prepared
Parquet directories (files) and the data-quality summary.

May import: the top-level modules (_config, _exceptions, _types, _sql). Internal: users
import from ``identmatch``.
"""
