"""helpdesk: a self-hosted customer-support ticketing system."""

__version__ = "0.1.0"
