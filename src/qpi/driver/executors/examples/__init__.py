"""Shipped example configs of the hardware executors (package data; see docs/hardware-executors.md).

- ``quantify.device.example.yml``: three transmons q0-q2, a CZ edge q0_q1, a flux-tunable
  coupler q1_q2.
- ``quantify.hardware.example.json`` / ``.yml``: one dummy Qblox cluster (no ``ip``: dummy mode only).
"""
