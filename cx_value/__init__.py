"""cx-value helpers."""
