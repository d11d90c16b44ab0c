"""One module per Daraja product: payload builder, callback parser, result-code table."""
