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


@pytest.mark.parametrize("argv", [[" "], ["   "], [" \t "], [" ", "srv.py"], ["\t\n", "x"]])
def test_a_command_line_of_blanks_is_no_program(argv: list[str]) -> None:
    """Any user may name a process " " (exec -a " ", or a title of blanks): no recogniser may
    fail on it (each once raised IndexError, and root's why with it)."""
    from portdoctor.causes.argv import ide_of, is_interactive_shell, reloader_name, service_name
    from portdoctor.relaunch import recognise

    assert program(argv)[0].strip() == ""
    assert service_name(" ", argv) is None
    assert reloader_name(argv, " ") is None and ide_of(argv, " ") is None
    assert is_interactive_shell(argv, " ") is False
    assert recognise(argv) is None
