"""Shop analytics: the quick-start project, from CSV files to a Markdown sales report.

Run it from the repository root with ``arco-flow materialize -m
examples.shop_analytics.definitions`` (``make demo``). The graph, by group:

- ``raw``: ``raw_orders``, ``raw_customers``, ``raw_products`` read the bundled CSV files
  through the ``shop_data`` resource.
- ``clean``: ``clean_orders``, ``clean_customers``, ``clean_products`` drop bad rows and
  type the good ones.
- ``analytics``: ``daily_revenue``, ``revenue_by_segment``, and ``top_products`` with
  ``top_customers`` (one ``@multi_asset``).
- ``reporting``: ``report``, the Markdown report.

Standard library only, so the example runs wherever Arco Flow does.
"""
