"""The console: server-rendered pages for auditors and DPOs under /console."""
