"""Layer 3: run coordinator, retries and dispatchers (in-process; process pool and Celery later)."""
