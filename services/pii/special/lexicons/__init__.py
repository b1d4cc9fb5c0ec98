"""DPO-owned YAML data for the special-category scanner (a package so it ships in the wheel)."""
