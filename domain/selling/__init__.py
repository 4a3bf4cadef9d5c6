"""Selling: accounts and contacts, opportunities and their teams, pipelines, activities, forecasts."""
