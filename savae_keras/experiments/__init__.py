"""End-to-end experiments behind the example scripts (shared, not copied)."""
