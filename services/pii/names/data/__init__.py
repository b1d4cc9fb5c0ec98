"""Name data (YAML) shipped with the package: being a package makes setuptools include it."""
