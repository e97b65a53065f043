"""Table models over the cache: lazily paged, searched lists and small snapshot lists."""
