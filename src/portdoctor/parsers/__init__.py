"""Readers of other programs' output: what macOS and Windows tools print (netsh, netstat,
tasklist, launchctl, lsof), parsed into portdoctor's types.

They are not back-ends (``platforms/generic.py`` is the macOS and Windows back-end, on psutil):
the back-end and the causes call them for what psutil does not know (excluded port ranges,
services, launchd jobs). Each parser is tested on recorded output in tests/fixtures/.
"""
