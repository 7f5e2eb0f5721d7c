"""Layer 5: the `arco-flow` command."""
