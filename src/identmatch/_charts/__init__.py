"""Charts: the Vega-Lite specifications (built with Altair) every picture of identmatch comes
from, the data behind each, and their rendering to offline HTML, SVG and PNG.

``data`` turns plain frames and numbers into each chart's table (bins, sweeps, counts),
``specs`` builds the Altair charts from those tables, ``render`` writes them without a network
(vl-convert bundles the Vega engine and its JavaScript). The batch run, the model, the index,
the service and the command all draw through here, so the page and a report show the same
picture.

May import: the top-level ``_exceptions`` only (no other identmatch package: callers pass
plain frames and numbers); Altair and vl-convert lazily, with the install hint when missing.
Internal: users call the ``*_chart`` methods of ``Result``, ``Model``, ``Index`` and
``Explanation``.
"""
