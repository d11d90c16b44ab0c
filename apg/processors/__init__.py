"""Payment processors: the base contract, the registry, and one package per upstream."""
