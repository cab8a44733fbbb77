"""Domain services: the business rules, called by web views, CLI commands and scheduler jobs alike."""
