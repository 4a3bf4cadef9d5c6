"""Selling through the API: accounts, opportunities, pipelines, stage gates, team rules, forecasts."""
