"""GraphQL for forecasts and funnels."""
