"""cache-invalidator: deletes exactly the workload/heatmap cache entries an event affects."""

from cache_invalidator.app import create_app
from cache_invalidator.settings import Settings

__all__ = ["Settings", "create_app"]
