"""The daemon layer: backfills now; schedules, sensors and automation join it (DESIGN.md §1)."""
