"""Layer 0: pure types and algorithms (keys, JSON, graph, selection, planner). No I/O."""
