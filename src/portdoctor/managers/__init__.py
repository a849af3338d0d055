"""Queries to the managers that own processes (PM2, Docker): shared by the cause detectors and ``free``.

Each module talks to one manager with short timeouts and never starts anything: a manager that
does not answer yields ``None`` and a reason, never an exception or a hang.
"""

from __future__ import annotations
