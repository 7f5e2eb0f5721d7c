"""Layer 2: executes one task request against a loaded code location; never touches the store."""
