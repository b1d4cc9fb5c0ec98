"""API keys: who is calling (tenant) and what they may do (role)."""
