"""Everything that leaves for a partner: the HTTP send and its guard, host slots,
request rendering (URL tokens, templates), HMAC signing, and error summaries.

``postbacks`` is the only module of the product that talks HTTP.
"""
