"""Ringba's tracking pixel as it enters: parsing, cleaning and the contact-field rules.

Only the capture API uses the parser; services receive the clean pixel it makes.
"""
