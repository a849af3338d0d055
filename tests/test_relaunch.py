"""relaunch.py: the table of servers and their port flags, package-manager scripts, safe reads."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from portdoctor.model import Holder, ProcessRef, Project
from portdoctor.relaunch import (
    ENV,
    SERVERS,
    _split,
    for_command,
    for_holder,
    known_as,
    port_of,
    read_scripts,
    recognise,
    through_script,
)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["vite"], "vite --port 5000 --strictPort"),
        (["npx", "vite", "--host"], "npx vite --host --port 5000 --strictPort"),
        (["vite", "--port", "3000"], "vite --port 5000 --strictPort"),
        (["vite", "preview", "--port=4173", "--strictPort"], "vite preview --strictPort --port 5000"),
        (["astro", "dev"], "astro dev --port 5000"),
        (["next", "dev", "-p", "3000"], "next dev -p 5000"),
        (["nuxi", "dev"], "nuxi dev --port 5000"),
        (["ng", "serve"], "ng serve --port 5000"),
        (["webpack", "serve", "--mode", "development"], "webpack serve --mode development --port 5000"),
        (["webpack-dev-server"], "webpack-dev-server --port 5000"),
        (["react-scripts", "start"], "PORT=5000 react-scripts start"),
        (["remix", "vite:dev"], "remix vite:dev --port 5000 --strictPort"),
        (["flask", "--app", "app", "run", "--debug"], "flask --app app run --debug --port 5000"),
        (["python3", "-m", "flask", "run", "-p", "8000"], "python3 -m flask run --port 5000"),
        (["python", "manage.py", "runserver"], "python manage.py runserver 5000"),
        (["python", "manage.py", "runserver", "0.0.0.0:8000"], "python manage.py runserver 0.0.0.0:5000"),
        (["uvicorn", "main:app", "--reload", "--port", "8000"], "uvicorn main:app --reload --port 5000"),
        (["fastapi", "dev", "main.py"], "fastapi dev main.py --port 5000"),
        (["gunicorn", "-w", "3", "app:app"], "gunicorn -w 3 app:app -b 127.0.0.1:5000"),
        (["gunicorn", "--bind=0.0.0.0:8000", "app:app"], "gunicorn app:app -b 0.0.0.0:5000"),
        (["hypercorn", "-b", "[::1]:8000", "app:app"], "hypercorn app:app -b '[::1]:5000'"),
        (["python3", "-m", "http.server"], "python3 -m http.server 5000"),
        (["python3", "-m", "http.server", "-d", "site", "8000"], "python3 -m http.server -d site 5000"),
        (["jupyter", "lab"], "jupyter lab --port 5000"),
        (["bin/rails", "server"], "bin/rails server -p 5000"),
        (["bundle", "exec", "puma", "-p", "3000"], "bundle exec puma -p 5000"),
        (["hugo", "server"], "hugo server --port 5000"),
        (["bundle", "exec", "jekyll", "serve"], "bundle exec jekyll serve --port 5000"),
        (["php", "-S", "localhost:8000"], "php -S localhost:5000"),
        (
            ["java", "-jar", "target/demo-spring-boot.jar"],
            "java -jar target/demo-spring-boot.jar --server.port=5000",
        ),
        (
            ["./mvnw", "spring-boot:run"],
            "./mvnw spring-boot:run -Dspring-boot.run.arguments=--server.port=5000",
        ),
        (["dotnet", "run"], "dotnet run --urls http://localhost:5000"),
        (["node", "server.js"], "PORT=5000 node server.js"),
        (["uv", "run", "uvicorn", "app:app"], "uv run uvicorn app:app --port 5000"),
    ],
)
def test_the_table_sets_each_servers_own_flag(argv: list[str], expected: str) -> None:
    launch = recognise(argv)
    assert launch is not None, argv
    assert launch.shell(5000) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["vite", "build"],
        ["python", "app.py"],
        ["java", "-jar", "app.jar"],
        ["flask", "routes"],
        ["gunicorn", "-b", "unix:/run/x.sock", "a:b"],
        ["ls"],
        [],
    ],
)
def test_what_it_cannot_know_is_none(argv: list[str]) -> None:
    assert recognise(argv) is None


def test_the_port_expression_stays_live_in_double_quotes() -> None:
    launch = recognise(["gunicorn", "-b", "0.0.0.0:8000", "app:app"])
    assert launch is not None
    assert (
        launch.shell("$(portdoctor pick --near 8000)")
        == 'gunicorn app:app -b "0.0.0.0:$(portdoctor pick --near 8000)"'
    )


@pytest.mark.parametrize(
    ("pm", "call", "script", "expected"),
    [
        ("npm", ["npm", "run", "dev"], "vite", "npm run dev -- --port 5000 --strictPort"),
        ("npm", ["npm", "start"], "react-scripts start", "PORT=5000 npm start"),
        ("yarn", ["yarn", "dev"], "next dev", "yarn dev -p 5000"),
        (
            "pnpm",
            ["pnpm", "dev"],
            "cross-env NODE_ENV=development vite --host",
            "pnpm dev --port 5000 --strictPort",
        ),
        ("bun", ["bun", "run", "dev"], "astro dev", "bun run dev --port 5000"),
        (
            "npm",
            ["npm", "run", "dev"],
            "npm run build && vite preview",
            "npm run dev -- --port 5000 --strictPort",
        ),
        # the script sets a port already: vite would get two --port values; run its command instead
        ("npm", ["npm", "run", "dev"], "vite --port 3000", "npx vite --port 5000 --strictPort"),
        ("pnpm", ["pnpm", "dev"], "vite --port 3000", "pnpm exec vite --port 5000 --strictPort"),
        ("npm", ["npm", "run", "dev"], "nodemon server.js", "PORT=5000 npm run dev"),
        # ... a program that is not an npm package is run as it is, not through npx
        ("npm", ["npm", "run", "serve"], "python3 -m http.server 8000", "python3 -m http.server 5000"),
        ("yarn", ["yarn", "api"], "uvicorn app:app --port 8000", "uvicorn app:app --port 5000"),
        (
            "npm",
            ["npm", "run", "dev"],
            "./node_modules/.bin/vite --port 3000",
            "./node_modules/.bin/vite --port 5000 --strictPort",
        ),
    ],
)
def test_package_manager_scripts_pass_the_flag_their_way(
    pm: str, call: list[str], script: str, expected: str
) -> None:
    launch = through_script(pm, call, script)
    assert launch is not None
    assert launch.shell(5000) == expected


def test_unknown_script_is_none() -> None:
    assert through_script("npm", ["npm", "run", "dev"], "./start.sh") is None
    assert through_script("npm", ["npm", "run", "dev"], "vite | tee log") is None


def _project(tmp_path: Path, scripts: dict[str, str]) -> Path:
    d = tmp_path / "shop-web"
    d.mkdir()
    (d / "package.json").write_text(json.dumps({"name": "shop-web", "scripts": scripts}))
    return d


def test_a_holder_under_npm_run_dev_relaunches_as_npm_run_dev(tmp_path: Path) -> None:
    d = _project(tmp_path, {"dev": "vite"})
    h = Holder(
        pid=300,
        ppid=200,
        name="node",
        cmdline=("node", f"{d}/node_modules/.bin/vite"),
        cwd=str(d),
        project=Project(name="shop-web", root=str(d), manifest="package.json"),
        parents=(
            ProcessRef(200, "sh", ("sh", "-c", "vite")),
            ProcessRef(100, "npm run dev", ("npm run dev",)),
            ProcessRef(1, "init", ("/sbin/init",)),
        ),
    )
    launch = for_holder(h)
    assert launch is not None
    assert launch.shell(5000, here=str(d)) == "npm run dev -- --port 5000 --strictPort"
    assert launch.shell(5000, here="/") == f"cd {d} && npm run dev -- --port 5000 --strictPort"
    assert known_as(h) == "npm run dev in shop-web (vite)"
    # Without npm: what the user typed, never a path into node_modules.
    bare = h.replace(parents=())
    launch = for_holder(bare)
    assert launch is not None and launch.shell(5000, here=str(d)) == "npx vite --port 5000 --strictPort"
    deep = bare.replace(cmdline=("node", f"{d}/node_modules/vite/bin/vite.js", "--host"))
    launch = for_holder(deep)
    assert (
        launch is not None and launch.shell(5000, here=str(d)) == "npx vite --host --port 5000 --strictPort"
    )


def test_for_command_reads_the_script_of_the_directory(tmp_path: Path) -> None:
    d = _project(tmp_path, {"dev": "vite", "serve": "./serve.sh"})
    launch = for_command(["npm", "run", "dev"], str(d))
    assert launch is not None and launch.argv_for(4000) == [
        "npm",
        "run",
        "dev",
        "--",
        "--port",
        "4000",
        "--strictPort",
    ]
    assert for_command(["npm", "run", "serve"], str(d)) is None
    assert for_command(["npm", "run", "missing"], str(d)) is None


# --- package.json of a stranger ---------------------------------------------------------------


def test_read_scripts_does_not_follow_a_link(tmp_path: Path) -> None:
    real = _project(tmp_path, {"dev": "vite"})
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(real / "package.json", other / "package.json")
    assert read_scripts(str(real)) == {"dev": "vite"}
    assert read_scripts(str(other)) is None


def test_read_scripts_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "package.json")
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(read_scripts(str(tmp_path))), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "read_scripts blocked on a FIFO"
    assert result == [None]


def test_read_scripts_caps_the_size(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"dev": "vite"}, "pad": "x" * 400_000}))
    assert read_scripts(str(tmp_path)) is None


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"scripts": ["vite"]}', '{"scripts": {"dev": 3}}'])
def test_read_scripts_takes_garbage_calmly(tmp_path: Path, text: str) -> None:
    (tmp_path / "package.json").write_text(text)
    assert read_scripts(str(tmp_path)) in (None, {})


# --- reading the port a command names (port_of, the inverse of the edit) -----------------------

# One command line per entry of the table (the port it names, or None); every entry has one.
NAMED = [
    (["vite", "--port", "5173"], 5173),
    (["npx", "vite", "--host", "--port=5174"], 5174),
    (["vite", "build", "--port", "5173"], None),  # not a server: nothing to read
    (["astro", "dev", "--port", "4321"], 4321),
    (["svelte-kit", "dev", "--port", "5175"], 5175),
    (["next", "dev", "-p", "3000"], 3000),
    (["next", "start", "-p3001"], 3001),
    (["next", "dev", "--port", "3002"], 3002),
    (["nuxi", "dev", "--port", "3003"], 3003),
    (["ng", "serve", "--port", "4200"], 4200),
    (["webpack-dev-server", "--port", "8080"], 8080),
    (["webpack", "serve", "--mode", "development", "--port=8081"], 8081),
    (["react-scripts", "start"], None),  # PORT in the environment: not in the arguments
    (["remix", "vite:dev", "--port", "5176"], 5176),
    (["remix-serve", "build/index.js"], None),
    (["flask", "--app", "app", "run", "--port", "5000"], 5000),
    (["flask", "run", "-p5001"], 5001),
    (["python3", "-m", "flask", "run", "-p", "5002"], 5002),
    (["flask", "routes", "--port", "5003"], None),
    (["python", "manage.py", "runserver", "8000"], 8000),
    (["python", "manage.py", "runserver", "--noreload", "0:8001"], 8001),
    (["django-admin", "runserver", "[::1]:8002", "--settings", "s"], 8002),
    (["python", "manage.py", "runserver"], None),  # Django's default: not written
    (["uvicorn", "main:app", "--reload", "--port", "8003"], 8003),
    (["uv", "run", "uvicorn", "main:app", "--port=8004"], 8004),
    (["fastapi", "dev", "main.py", "--port", "8005"], 8005),
    (["gunicorn", "-w", "3", "-b", "127.0.0.1:8006", "app:app"], 8006),
    (["gunicorn", "--bind=0.0.0.0:8007", "app:app"], 8007),
    (["gunicorn", "-b", "tcp://localhost:8008", "app:app"], 8008),
    (["gunicorn", "-b", "127.0.0.1", "app:app"], None),  # a host alone: gunicorn's default port
    (["gunicorn", "-b", "8000", "app:app"], None),  # gunicorn reads a bare 8000 as a host
    (["gunicorn", "-b", "unix:/run/app.sock", "app:app"], None),
    (["hypercorn", "-b", "[::1]:8009", "app:app"], 8009),
    (["python3", "-m", "http.server", "8010"], 8010),
    (["python3", "-m", "http.server", "-d", "site", "-b", "::1", "8011"], 8011),
    (["python3", "-m", "http.server", "-b", "::1"], None),
    (["jupyter", "lab", "--port", "8888"], 8888),
    (["jupyter-notebook", "--port=8889"], 8889),
    (["bin/rails", "server", "-p", "3004"], 3004),
    (["bundle", "exec", "puma", "-p", "3005"], 3005),
    (["hugo", "server", "-p", "1313"], 1313),
    (["bundle", "exec", "jekyll", "serve", "-P", "4000"], 4000),
    (["php", "-S", "localhost:8012"], 8012),
    (["php8.3", "-S", "[::1]:8013", "-t", "public"], 8013),
    (["java", "-jar", "demo-spring-boot.jar", "--server.port=8080"], 8080),
    (["java", "-Dserver.port=8082", "-jar", "demo-spring-boot.jar"], 8082),
    (["java", "-jar", "app.jar", "--server.port=8080"], None),  # a jar we cannot tell is Spring
    (["./mvnw", "spring-boot:run", "-Dspring-boot.run.arguments=--debug,--server.port=8083"], 8083),
    (["gradle", "bootRun", "--args=--server.port=8084 --debug"], 8084),
    (["gradlew", "bootRun", "--args", "--server.port=8085"], 8085),
    (["dotnet", "run", "--urls", "http://localhost:5004;https://localhost:5005"], 5004),
    (["dotnet", "app.dll", "--urls=http://*:5006"], 5006),
    (["dotnet", "run", "--urls", "http://[::]:5007/"], 5007),
    (["node", "server.js", "--port", "3000"], None),  # the convention (PORT): not a flag we know
    (["python", "app.py", "8000"], None),
    ([], None),
]


@pytest.mark.parametrize(("argv", "port"), NAMED)
def test_port_of_reads_the_port_a_command_names(argv: list[str], port: int | None, tmp_path: Path) -> None:
    assert port_of(argv, str(tmp_path)) == port


@pytest.mark.parametrize(
    "argv",
    [
        ["vite", "--port", "0"],  # any port: none in particular
        ["vite", "--port", "70000"],
        ["vite", "--port", "$PORT"],  # no shell ran: not a number
        ["vite", "--port", "{port}"],
        ["vite", "--port"],
        ["uvicorn", "a:b", "--port", "８０００"],  # fullwidth digits: isdigit(), but no port
    ],
)
def test_port_of_takes_only_a_port_number(argv: list[str]) -> None:
    assert port_of(argv) is None


def test_the_last_port_flag_wins_as_in_the_servers_parsers() -> None:
    assert port_of(["uvicorn", "a:b", "--port", "8000", "--port=8001"]) == 8001
    assert port_of(["flask", "run", "-p", "5000", "--port", "5001"]) == 5001


def test_every_entry_of_the_table_is_read() -> None:
    """NAMED reads a port for each entry that takes it in its arguments (a new entry needs its
    reading tested too); the entries that take PORT in the environment read none."""
    read = set()
    for argv, port in NAMED:
        launch = recognise(argv)
        if launch is not None and port is not None:
            prog = _split(argv)[0]
            read |= {i for i, s in enumerate(SERVERS) if s.name == launch.server and prog in s.programs}
    in_env = {i for i, s in enumerate(SERVERS) if s.edit == ENV}
    missing = set(range(len(SERVERS))) - read - in_env
    assert not missing, [SERVERS[i].name for i in sorted(missing)]
    assert {SERVERS[i].name for i in in_env} == {"create-react-app", "remix"}


# Every command of NAMED the table knows, and some without a port (the edit adds one).
ROUND_TRIP = [argv for argv, _port in NAMED if recognise(argv) is not None] + [
    ["vite"], ["gunicorn", "-w", "3", "app:app"], ["python3", "-m", "http.server"],
    ["python", "manage.py", "runserver"], ["dotnet", "run"], ["./mvnw", "spring-boot:run"],
    ["gradle", "bootRun"], ["php", "-S", "localhost"],
]  # fmt: skip


@pytest.mark.parametrize("argv", ROUND_TRIP)
@pytest.mark.parametrize("port", [1, 5000, 65535])
def test_reading_the_edited_command_gives_the_port_it_was_given(argv: list[str], port: int) -> None:
    launch = recognise(argv)
    assert launch is not None
    edited = launch.argv_for(port)
    if launch.env:  # the port goes into PORT: the arguments name none
        assert dict(launch.env) == {"PORT": "@@PORT@@"}
        assert port_of(edited) is None
    else:
        assert port_of(edited) == port, edited


# --- through package-manager scripts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "argv", "port"),
    [
        ("vite", ["npm", "run", "dev", "--", "--port", "5173"], 5173),
        ("vite", ["npm", "run", "dev", "--silent", "--", "--port=5174"], 5174),
        ("vite", ["npm", "run", "dev", "--port", "5173"], None),  # npm reads --port as its own option
        ("vite", ["npm", "run", "dev"], None),  # Vite's default port: not written
        ("vite --port 3000", ["npm", "run", "dev"], 3000),
        ("vite --port 3000", ["npm", "run", "dev", "--", "--port", "3001"], 3001),  # the last one
        ("NODE_ENV=development vite --port 3002", ["pnpm", "dev"], 3002),
        ("vite", ["yarn", "dev", "--port", "5175"], 5175),
        ("vite", ["pnpm", "run", "dev", "--", "--port", "5176"], 5176),
        ("next dev -p 3003", ["yarn", "run", "dev"], 3003),
        ("python3 -m http.server", ["npm", "run", "dev", "--", "8000"], 8000),
        ("react-scripts start", ["npm", "start"], None),
        ("./serve.sh --port 3000", ["npm", "run", "dev"], None),  # a program we do not know
    ],
)
def test_port_of_reads_through_a_script(
    tmp_path: Path, script: str, argv: list[str], port: int | None
) -> None:
    d = _project(tmp_path, {"dev": script, "start": script})
    assert port_of(argv, str(d)) == port


def test_port_of_a_script_without_package_json_is_none(tmp_path: Path) -> None:
    assert port_of(["npm", "run", "dev", "--", "--port", "5173"], str(tmp_path)) is None
    # yarn/pnpm run a package's program when no script has that name
    assert port_of(["yarn", "vite", "--port", "5173"], str(tmp_path)) == 5173


@pytest.mark.parametrize(
    ("script", "argv", "expected"),
    [
        # the port the user passed is replaced, not given twice (Vite took the first of two
        # '--' and served on the old port)
        ("vite", ["npm", "run", "dev", "--", "--port", "5173"], "npm run dev -- --port 4000 --strictPort"),
        ("vite", ["npm", "run", "dev", "--", "--host", "--port", "5173"],
         "npm run dev -- --host --port 4000 --strictPort"),
        ("vite", ["yarn", "dev", "--port", "5173"], "yarn dev --port 4000 --strictPort"),
        ("vite --port 3000", ["npm", "run", "dev"], "npx vite --port 4000 --strictPort"),
        ("python3 -m http.server", ["npm", "run", "dev", "--", "8000"], "npm run dev -- 4000"),
        ("react-scripts start", ["npm", "run", "dev", "--", "--verbose"],
         "PORT=4000 npm run dev -- --verbose"),
    ],
)  # fmt: skip
def test_for_command_replaces_the_port_a_script_call_passes(
    tmp_path: Path, script: str, argv: list[str], expected: str
) -> None:
    d = _project(tmp_path, {"dev": script})
    launch = for_command(argv, str(d))
    assert launch is not None
    assert launch.shell(4000) == expected
    assert port_of(launch.argv_for(4000), str(d)) == (None if launch.env else 4000)


# --- a port written in the arguments of a server without a known flag -------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # node srv.js 24250 reads process.argv[2]: PORT=N would not move it; the word does
        (["node", "srv.js", "24250"], "node srv.js 5000"),
        (["node", "srv.js", "--listen=0.0.0.0:24250"], "node srv.js --listen=0.0.0.0:5000"),
        (["node", "srv.js", "--port=24250", "24250"], "node srv.js --port=5000 5000"),
        (["nodemon", "srv.js", "localhost:24250"], "nodemon srv.js localhost:5000"),
        # a program the table does not know at all, whose port is written: the same
        (["python3", "serve.py", "24250"], "python3 serve.py 5000"),
        (["./serve", "-l", "[::]:24250"], "./serve -l '[::]:5000'"),
        # a known server's own flag still decides
        (["vite", "--port", "24250"], "vite --port 5000 --strictPort"),
        # no word names the port: the PORT convention stays
        (["node", "srv.js"], "PORT=5000 node srv.js"),
        (["node", "srv.js", "124250", "24251", "x24250"], "PORT=5000 node srv.js 124250 24251 x24250"),
    ],
)
def test_a_port_written_in_the_arguments_is_where_the_new_port_goes(argv: list[str], expected: str) -> None:
    launch = recognise(argv, 24250)
    assert launch is not None, argv
    assert launch.shell(5000) == expected


def test_without_the_port_nothing_is_read_from_the_arguments() -> None:
    launch = recognise(["node", "srv.js", "24250"])
    assert launch is not None and launch.shell(5000) == "PORT=5000 node srv.js 24250"
    assert recognise(["python3", "serve.py", "24250"]) is None
    assert recognise(["python3", "serve.py"], 24250) is None
    assert recognise(["24250"], 24250) is None  # the program itself is never the port


def test_the_written_port_is_replaced_by_the_live_pick_expression() -> None:
    launch = recognise(["node", "srv.js", "24250"], 24250)
    assert launch is not None
    assert (
        launch.shell("$(portdoctor pick --near 24250)") == 'node srv.js "$(portdoctor pick --near 24250)"'
    )
    assert launch.to_dict()["argv"] == ["node", "srv.js", "{port}"] and launch.to_dict()["env"] == {}


def test_a_script_that_writes_the_port_runs_its_command_with_the_new_one(tmp_path: Path) -> None:
    launch = through_script("npm", ["npm", "run", "dev"], "node srv.js 24250", port=24250)
    assert launch is not None and launch.shell(5000) == "node srv.js 5000"
    d = _project(tmp_path, {"dev": "node srv.js 24250"})
    h = Holder(
        pid=300,
        ppid=200,
        name="node",
        cmdline=("node", "srv.js", "24250"),
        cwd=str(d),
        project=Project(name="shop-web", root=str(d), manifest="package.json"),
        parents=(ProcessRef(200, "npm run dev", ("npm run dev",)),),
    )
    launch = for_holder(h, 24250)
    assert launch is not None and launch.shell(5000, here="/") == f"cd {d} && node srv.js 5000"
    assert for_holder(h.replace(parents=()), 24250) is not None
    launch = for_command(["npm", "run", "dev"], str(d), 24250)
    assert launch is not None and launch.argv_for(5000) == ["node", "srv.js", "5000"]


# --- default ports (explain: the command writing an error that names no port) -------------------


@pytest.mark.parametrize(
    ("argv", "server", "port"),
    [
        (["python3", "manage.py", "runserver"], "django", 8000),
        (["/usr/bin/python3", "manage.py", "runserver", "--noreload"], "django", 8000),
        (["python3", "-m", "http.server"], "http.server", 8000),
        (["python3", "-m", "http.server", "-b", "127.0.0.1"], "http.server", 8000),
        (["uvicorn", "main:app", "--reload"], "uvicorn", 8000),
        (["python3", "-m", "uvicorn", "main:app"], "uvicorn", 8000),
        (["gunicorn", "app:app"], "gunicorn", 8000),
        (["gunicorn", "-b", "0.0.0.0", "app:app"], "gunicorn", 8000),  # a host alone: the default port
        (["flask", "run"], "flask", 5000),
        (["vite"], "vite", 5173),
        (["node", "/p/node_modules/vite/bin/vite.js", "dev"], "vite", 5173),
        (["vite", "preview"], "vite", 4173),
    ],
)
def test_default_port(argv: list[str], server: str, port: int, tmp_path: Path) -> None:
    from portdoctor.relaunch import Default, default_port

    assert default_port(argv, str(tmp_path), {}) == Default(server, port)
    assert port_of(argv, str(tmp_path)) is None  # the default is not a port the command names


@pytest.mark.parametrize(
    "argv",
    [
        ["python3", "manage.py", "runserver", "9000"],  # it names its port
        ["python3", "manage.py", "migrate"],  # no server
        ["vite", "build"],
        ["hypercorn", "app:app"],  # no default in the table
        ["sh", "-c", "vite"],  # a shell is no server (the vite under it is read by itself)
        ["gunicorn", "-c", "conf.py", "app:app"],  # a config file may bind
        ["uvicorn", "main:app", "--uds", "/tmp/u.sock"],
        ["flask", "--env-file", "prod.env", "run"],
        [],
    ],
)
def test_no_default_port(argv: list[str], tmp_path: Path) -> None:
    from portdoctor.relaunch import default_port

    assert default_port(argv, str(tmp_path), {}) is None


def test_default_port_not_assumed_where_the_environment_or_a_file_may_set_it(tmp_path: Path) -> None:
    from portdoctor.relaunch import Default, default_port

    assert default_port(["gunicorn", "app:app"], str(tmp_path), {"PORT": "9000"}) is None
    assert default_port(["uvicorn", "m:app"], str(tmp_path), {"UVICORN_PORT": "9000"}) is None
    assert default_port(["flask", "run"], str(tmp_path), {"FLASK_RUN_PORT": "9000"}) is None
    assert default_port(["vite"], str(tmp_path), {"PORT": "9000"}) == Default("vite", 5173)  # vite ignores it
    (tmp_path / "vite.config.ts").write_text("export default { server: { port: 3000 } }\n")
    assert default_port(["vite"], str(tmp_path), {}) is None
    (tmp_path / ".flaskenv").symlink_to("/nonexistent")  # a dangling link is there all the same
    assert default_port(["flask", "run"], str(tmp_path), {}) is None
    (tmp_path / "gunicorn.conf.py").write_text("bind = '0.0.0.0:9000'\n")
    assert default_port(["gunicorn", "app:app"], str(tmp_path), {}) is None


def test_default_port_through_a_package_script(tmp_path: Path) -> None:
    from portdoctor.relaunch import Default, default_port

    (tmp_path / "package.json").write_text('{"scripts": {"dev": "vite", "fixed": "vite --port 3000"}}')
    assert default_port(["npm", "run", "dev"], str(tmp_path), {}) == Default("vite", 5173)
    assert default_port(["npm", "run", "fixed"], str(tmp_path), {}) is None
    assert port_of(["npm", "run", "fixed"], str(tmp_path)) == 3000
    assert default_port(["npm", "run", "dev", "--", "--port", "4000"], str(tmp_path), {}) is None


def test_the_documented_defaults_are_the_installed_servers_own() -> None:
    """Each default read from the server's own source where it is installed here."""
    import http.server
    import inspect as pyinspect

    from portdoctor.relaunch import SERVERS

    defaults = {s.name: s.default for s in SERVERS if s.default is not None}
    assert "default=8000" in pyinspect.getsource(http.server).replace(" ", "")
    assert defaults["http.server"] == 8000
    try:
        from django.core.management.commands import runserver
    except ImportError:
        pass
    else:
        assert int(runserver.Command.default_port) == defaults["django"]
    try:
        import importlib

        command = importlib.import_module("uvicorn.main").main  # (uvicorn.main: the function)
    except ImportError:
        pass
    else:
        port_option = next(p for p in command.params if p.name == "port")
        assert port_option.default == defaults["uvicorn"]
