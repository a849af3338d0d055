"""relaunch.py: the table of servers and their port flags, package-manager scripts, safe reads."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from portdoctor.model import Holder, ProcessRef, Project
from portdoctor.relaunch import for_command, for_holder, known_as, read_scripts, recognise, through_script


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
