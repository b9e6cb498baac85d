"""Services: every use case of the help desk, with its permission check and transaction."""
