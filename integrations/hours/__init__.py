"""Time zones and the weekly hours of a schedule or destination."""
