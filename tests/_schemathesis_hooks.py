"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in tests/test_openapi.py: it has no
serializer for `audio/wav`, the voice route's body; raw bytes are what a client sends."""

import schemathesis

schemathesis.serializer.alias("audio/wav", "application/octet-stream")
