"""The GraphQL schema of selling: accounts, opportunities, pipelines, activities, forecasts."""
