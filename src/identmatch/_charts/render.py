"""Charts written without a network: SVG, PNG and HTML with the Vega JavaScript inlined.

vl-convert (a Rust build of the Vega engine) renders SVG and PNG in process and supplies the
vega, vega-lite and vega-embed bundle that goes inside each HTML file, so a chart opens in a
browser with no network and fetches nothing from a CDN.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from identmatch._exceptions import MissingDependencyError

__all__ = ["NOT_XML", "clean_text", "save_chart", "to_html", "to_png", "to_svg"]

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML cannot hold. vl-convert aborts the whole process (a Rust panic that cannot
unwind) on a control character in a text mark, so every string is cleaned before rendering."""

_HINT = (
    "rendering charts needs vl-convert: pip install 'identmatch[charts]' "
    "(or pip install vl-convert-python)"
)


def _vl_convert() -> ModuleType:
    try:
        import vl_convert
    except ImportError as exc:
        raise MissingDependencyError(_HINT) from exc
    return vl_convert


def clean_text(value: Any) -> Any:
    """``value`` with every string in it (keys too) stripped of characters XML cannot hold
    (each becomes U+FFFD)."""
    if isinstance(value, str):
        return NOT_XML.sub("\ufffd", value)
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_text(v) for v in value]
    return value


def _spec(chart: Any) -> dict[str, Any]:
    spec: dict[str, Any] = clean_text(chart.to_dict())
    return spec


def to_svg(chart: Any) -> str:
    """The chart as SVG text (fonts as text; no script, no external reference)."""
    return str(_vl_convert().vegalite_to_svg(_spec(chart)))


def to_png(chart: Any, *, scale: float = 2.0) -> bytes:
    """The chart as a PNG image (``scale`` 2: sharp in print and on high-density screens)."""
    return bytes(_vl_convert().vegalite_to_png(_spec(chart), scale=scale))


def to_html(chart: Any) -> str:
    """A self-contained HTML page drawing the chart: the Vega JavaScript is inlined."""
    return str(_vl_convert().vegalite_to_html(_spec(chart), bundle=True))


def _write(path: Path, data: bytes) -> None:
    """Write to a temporary file, then rename into place: a crash leaves no half file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def save_chart(chart: Any, folder: Path, name: str) -> list[Path]:
    """Write ``name.html`` (offline) and ``name.png`` into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    html, png = folder / f"{name}.html", folder / f"{name}.png"
    _write(html, to_html(chart).encode("utf-8"))
    _write(png, to_png(chart))
    return [html, png]
