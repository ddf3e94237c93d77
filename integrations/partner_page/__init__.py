"""The partner's posting-instructions page: its signed links, its view, and the
field-by-field instructions and sample values it shows."""
