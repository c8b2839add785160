"""Automation: preventive maintenance generated from plans (diagnosis: operations)."""
