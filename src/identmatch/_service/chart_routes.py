"""The page's charts: the library's own Vega-Lite charts, rendered to SVG by the service.

The page shows the same pictures a report does (``Index.match_weight_chart``,
``Explanation.waterfall_chart``), rendered here with vl-convert and shown by the page as an
image: no chart script runs in the browser, and nothing is fetched from elsewhere. The SVGs
hold labels, weights and counts only, never a record's values.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field

import identmatch
from identmatch._service.auth import Reader
from identmatch._service.schemas import Problem
from identmatch._service.state import ServiceState

__all__ = ["SVG_HEADERS", "WaterfallRequest", "add_chart_routes"]

SVG_HEADERS = {"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"}
"""An SVG opened on its own runs nothing and loads nothing (``no-store`` and ``nosniff``
come with every API reply)."""

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _drawable(text: str) -> str:
    """Refuse characters an SVG cannot hold (the renderer would fail on them)."""
    if _NOT_XML.search(text):
        msg = "control characters and unpaired surrogates cannot be drawn"
        raise ValueError(msg)
    return text


Text = Annotated[str, Field(max_length=300), AfterValidator(_drawable)]
Bits = Annotated[float, Field(allow_inf_nan=False, ge=-1_000, le=1_000)]


class WaterfallContribution(BaseModel, extra="forbid"):
    """One comparison's part, as the search and the review queue return it."""

    comparison: Annotated[str, Field(max_length=100), AfterValidator(_drawable)]
    level: Annotated[int, Field(ge=0, le=100)]
    label: Text
    weight: Bits
    term_frequency_adjustment: Bits = 0.0


class WaterfallRequest(BaseModel, extra="forbid"):
    """An explanation (a hit's, a weak candidate's or a queued pair's) to draw."""

    record_id_l: Text
    record_id_r: Text
    match_weight: Bits
    match_probability: Annotated[float, Field(ge=0.0, le=1.0)]
    prior_weight: Bits
    contributions: Annotated[list[WaterfallContribution], Field(max_length=64)]
    start: Text = "Starting point (prior)"
    """The first bar's label (a search starts from its own prior)."""


def _svg(chart: object) -> Response:
    import vl_convert

    body = vl_convert.vegalite_to_svg(chart.to_dict())  # type: ignore[attr-defined]
    return Response(body, media_type="image/svg+xml", headers=SVG_HEADERS)


def add_chart_routes(app: FastAPI, service: ServiceState) -> None:
    """Add the chart routes to ``app``, serving ``service``."""

    @app.get(
        "/v1/charts/match-weights",
        tags=["search"],
        response_class=Response,
        responses={200: {"content": {"image/svg+xml": {}}}, 404: {"model": Problem}},
    )
    async def match_weights(key: Reader) -> Response:
        """The build's scored pairs by match weight, the threshold marked: an SVG."""

        def draw() -> Response:
            try:
                chart = service.index.match_weight_chart()
            except identmatch.ConfigError as exc:
                raise HTTPException(404, str(exc)) from None
            return _svg(chart)

        return await run_in_threadpool(draw)

    @app.get(
        "/v1/charts/parameters",
        tags=["search"],
        response_class=Response,
        responses={200: {"content": {"image/svg+xml": {}}}, 404: {"model": Problem}},
    )
    async def parameters(
        key: Reader, comparison: Annotated[str | None, Query(max_length=100)] = None
    ) -> Response:
        """The model's levels (weights in bits, m and u), of one comparison or all: an SVG."""

        def draw() -> Response:
            names = None if comparison is None else [comparison]
            try:
                chart = service.index.model.parameters_chart(names)
            except KeyError:
                raise HTTPException(404, "the model has no comparison of that name") from None
            return _svg(chart)

        return await run_in_threadpool(draw)

    @app.post(
        "/v1/charts/waterfall",
        tags=["search"],
        response_class=Response,
        responses={200: {"content": {"image/svg+xml": {}}}},
    )
    async def waterfall(request: WaterfallRequest, key: Reader) -> Response:
        """An explanation's waterfall (prior, each comparison, total; the threshold dashed):
        an SVG."""
        explanation = identmatch.Explanation.model_validate(request.model_dump(exclude={"start"}))
        threshold = service.index.config.threshold

        def draw() -> Response:
            return _svg(explanation.waterfall_chart(threshold=threshold, start=request.start))

        return await run_in_threadpool(draw)
