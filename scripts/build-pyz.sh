#!/usr/bin/env bash
# Build the single-file portdoctor: dist/portdoctor.pyz, a zipapp that runs with any python3 >= 3.9
# on Linux with nothing installed:  python3 portdoctor.pyz 3000  /  sudo python3 portdoctor.pyz free 3000
#
#   bash scripts/build-pyz.sh [OUTPUT]      (default: dist/portdoctor.pyz)
#
# It holds src/portdoctor only: psutil and platformdirs are optional (the Linux back-end does not
# use them). Next to each module it stores a .pyc compiled by the python3 that builds it
# (unchecked-hash, so zipimport uses it without comparing timestamps): that interpreter version
# skips compiling ~40 modules on every start; other versions compile the .py sources, which are
# there too. The archive is reproducible: fixed timestamps, sorted entries.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:-dist/portdoctor.pyz}
PYTHON=${PYTHON:-python3}

"$PYTHON" - "$OUT" <<'PY'
import os, py_compile, stat, sys, tempfile, zipfile

out = sys.argv[1]
if sys.version_info < (3, 9):
    sys.exit("build-pyz: needs python3 >= 3.9")
src = os.path.join("src", "portdoctor")
files = []
for root, dirs, names in os.walk(src):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
    for name in sorted(names):
        if name.endswith(".py"):
            path = os.path.join(root, name)
            files.append((path, os.path.relpath(path, "src")))

MAIN = (
    "# portdoctor, the single-file build (scripts/build-pyz.sh)\n"
    "import sys\n"
    "if sys.version_info < (3, 9):\n"
    "    sys.exit('portdoctor needs Python >= 3.9, this is ' + sys.version.split()[0])\n"
    "from portdoctor.cli import entry\n"
    "sys.exit(entry())\n"
)
STAMP = (2020, 1, 1, 0, 0, 0)


def entry(name):
    info = zipfile.ZipInfo(name, STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
tmp_fd, tmp = tempfile.mkstemp(dir=os.path.dirname(out) or ".", suffix=".pyz.tmp")
os.close(tmp_fd)
with tempfile.TemporaryDirectory() as work:
    with open(tmp, "wb") as f:
        f.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(f, "w") as z:
            z.writestr(entry("__main__.py"), MAIN)
            for path, arc in files:
                with open(path, "rb") as source:
                    z.writestr(entry(arc), source.read())
                pyc = os.path.join(work, arc + "c")
                py_compile.compile(
                    path, cfile=pyc, dfile=arc, doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
                with open(pyc, "rb") as compiled:
                    z.writestr(entry(arc + "c"), compiled.read())
os.chmod(tmp, 0o755)
os.replace(tmp, out)
print(f"{out}: {os.path.getsize(out) // 1024} KiB, {len(files)} modules, "
      f".pyc for Python {sys.version_info[0]}.{sys.version_info[1]}")
PY
