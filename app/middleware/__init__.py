"""Pure ASGI middleware: request body limit and the rendered-response cache for hot read pages."""
