"""The REST extension API for outside services: registered extensions and their webhooks."""
