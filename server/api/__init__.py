"""The REST API: small modules of decorated endpoint functions."""

from server.api._routing import (
    Api,
    ApiCall,
    Endpoint,
    error_response,
    read_body,
    starlette_routes,
)

__all__ = ["Api", "ApiCall", "Endpoint", "error_response", "read_body", "starlette_routes"]
