"""The `portdoctor` command: a plain script on POSIX (bin/portdoctor), pip's launcher on Windows.

Everything else is in pyproject.toml. The choice is made where the wheel is built, which is where
it is installed for `pipx install .`, `uv tool install .` and `pip install .`: a wheel built on
Linux and copied to Windows would lack portdoctor.exe (build it there).
"""

import os

from setuptools import setup

if os.name == "nt":
    setup(entry_points={"console_scripts": ["portdoctor = portdoctor.cli:entry"]})
else:
    setup(scripts=["bin/portdoctor"])
