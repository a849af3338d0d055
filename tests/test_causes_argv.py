"""Which program a command line really runs."""

from __future__ import annotations

import pytest

from portdoctor.causes.argv import basename, program


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["node", "--watch", "/usr/lib/node_modules/nodemon/bin/nodemon.js", "app.js"], "nodemon"),
        (["python3", "-m", "uvicorn", "app:app", "--reload"], "uvicorn"),
        (["/usr/bin/node", "-r", "dotenv/config", "server.js"], "server.js"),
        (["deno", "run", "main.ts"], "main.ts"),
        (["npm run dev"], "npm"),
        (["C:\\Program Files\\nodejs\\node.exe", "server.js"], "server.js"),
        (["nginx: master process /usr/sbin/nginx"], "nginx:"),
        ([], ""),
    ],
)
def test_program(argv: list[str], name: str) -> None:
    assert program(argv)[0] == name


def test_basename_handles_both_separators() -> None:
    assert basename("/usr/bin/node") == "node"
    assert basename("C:\\tools\\air.exe") == "air.exe"
