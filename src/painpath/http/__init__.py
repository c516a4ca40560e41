"""What the HTTP front ends share: request dependencies (database, settings, who is calling) and
problem+json error responses.

The REST API (``painpath.api``), the web pages (``painpath.web``) and FHIR / CDS Hooks
(``painpath.fhir``) are siblings: each imports from here, never from one another.
``painpath.asgi`` wires them into one application.
"""
