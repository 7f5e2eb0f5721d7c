"""Example code locations that ship with Arco Flow; each sub-package is one project."""
