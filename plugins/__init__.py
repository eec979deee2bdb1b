"""The plugin host: manifests, activation, the out-of-process runtime and the plugin API
(see ARCHITECTURE.md §1)."""
