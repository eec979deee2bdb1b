"""NEXUS server: the hub, event bus, storage, auth and ConsciousnessCore."""
