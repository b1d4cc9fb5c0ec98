"""Forwarding to OpenAI-compatible upstreams (``/v1/chat/completions``).

Not built yet: today douane decides and records (``/v1/route``) but forwards
nothing. The adapter contract is in ../shared/DESIGN.md.
"""
