"""analysis layer (filled in by later modules)."""
