"""The HTTP service: keys, roles and limits, the gate, the routes and the web page.

Owns the service config and API keys (config), the gate checking key, role and budget before
a body is read (guard), ASGI plumbing (asgi), connection caps and timeouts (connections),
request and reply bodies (schemas), the shared state (state), authentication (auth), the
routes (server, review_routes) and the page's files (page, web/).

May import: the top-level modules and the public ``identmatch`` names only (routes call the
public API). Internal: users import from ``identmatch``.
"""
