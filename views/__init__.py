"""Pearl's HTTP endpoints, one Blueprint per area."""
