"""widgets layer (filled in by later modules)."""
