"""KER Ops: multi-tenant facility-maintenance and field-service backend."""

__version__ = "0.1.0"
