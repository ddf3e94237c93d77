"""Write paths of the domain. Views, admin and commands call these; rules live here."""
