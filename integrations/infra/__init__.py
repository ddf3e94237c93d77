"""Plumbing under the domain: database helpers, the event signals, and encryption
of secrets at rest."""
