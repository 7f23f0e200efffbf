"""plots layer (filled in by later modules)."""
