"""cache-invalidator: deletes exactly the workload/heatmap cache entries an event affects."""
