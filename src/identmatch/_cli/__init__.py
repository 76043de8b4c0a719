"""The ``identmatch`` command: parse arguments, call the public API, print.

Owns the command group (group), the shared options, tables and printing (common), and the
commands: batch (dedupe, link, prepare, demo), index (build, add, compact, export, search,
decisions, report) and service (serve, keys, audit). `main` is the entry point.

May import: any lower package; nothing imports it. Internal: users import from
``identmatch``.
"""
