"""Egress: the one way bytes leave the machine (see :mod:`tftsr.egress.gate`)."""
