"""Language-server bridges: one LSP client per (workspace, language), fed from the
collaborative documents and shared by every collaborator (see ARCHITECTURE.md §1)."""
