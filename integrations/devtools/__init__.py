"""Tools for demos, local development and tests; never imported by the product itself.

- ``ringba_stand_in``: a local HTTP server standing in for Ringba's webhook.
- ``demo``: the demo data set (``seed_demo``, ``make run``, ``simulate_call``).
"""
