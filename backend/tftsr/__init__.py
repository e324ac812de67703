"""TFTSR: incident triage and root-cause analysis, encrypted on your own machine."""

__version__ = "0.1.0"
