"""The HTTP and WebSocket surface: routes per resource, dependencies, the runtime they
reach, error handlers, middleware and OpenAPI documentation."""
