"""The REST extension API: commands for outside programs, and the OpenAPI description."""
