"""The package installs and runs like a user would meet it: a built wheel (not the editable checkout) in a fresh
virtual environment, `onelicense demo` from an empty folder with a fresh data folder and Prefect home. It starts
its own Prefect server, says so while it waits, and leaves a license in ./data that verifies offline."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel; the dependencies come from the test environment's site-packages
    (a plain path entry, so none of its editable-install hooks apply)."""
    root = tmp_path_factory.mktemp("packaging")
    wheels = root / "wheels"
    source = root / "source"  # a copy, so the build leaves nothing behind in the checkout
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True).stdout.split()
    for name in tracked:  # what a clone would hold
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name, follow_symlinks=False)  # onelicense/web -> ../web stays a link
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("onelicense-*.whl")
    # a neighbour with a generic name, as the web.py framework ships (`web/__init__.py`): each keeps its own files
    neighbour = root / "neighbour"
    (neighbour / "web").mkdir(parents=True)
    (neighbour / "web" / "__init__.py").write_text("NEIGHBOUR = True\n")
    (neighbour / "pyproject.toml").write_text(
        '[project]\nname = "web-neighbour"\nversion = "1.0"\n[tool.setuptools]\npackages = ["web"]\n'
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(wheels), str(neighbour)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    [neighbour_wheel] = wheels.glob("web_neighbour-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = _site_packages(venv)
    (site / "test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", str(neighbour_wheel), str(wheel)],
        check=True,
        capture_output=True,
    )
    return venv


@pytest.mark.slow
def test_the_wheel_installs_one_import_name_beside_a_package_called_web(installed: Path, tmp_path: Path) -> None:
    site = _site_packages(installed)
    [dist_info] = site.glob("onelicense-*.dist-info")
    assert (dist_info / "top_level.txt").read_text().split() == ["onelicense"]
    record = [line.split(",")[0] for line in (dist_info / "RECORD").read_text().splitlines()]
    in_site = {name.split("/")[0] for name in record if not name.startswith("../")}  # ../../../bin/onelicense
    assert in_site == {"onelicense", dist_info.name}, "files outside onelicense/"
    check = subprocess.run([installed / "bin" / "python", "-m", "pip", "check"], capture_output=True, text=True)
    assert "web-neighbour" not in check.stdout  # no conflict reported: the two no longer share a folder
    both = subprocess.run(
        [installed / "bin" / "python", "-c",
         "import web, onelicense.web.app, onelicense.forms; print(web.NEIGHBOUR, onelicense.web.app.__file__)"],
        cwd=tmp_path,  # not the checkout, whose web/ would be found first
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # fmt: skip
    assert both.startswith("True ") and "onelicense/web/app.py" in both
    # `serve` starts its dispatcher as `python -m onelicense worker`: it must run from any folder
    child = subprocess.run(
        [installed / "bin" / "python", "-m", "onelicense", "worker", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert child.returncode == 0 and "Usage: onelicense worker" in child.stdout, child.stdout + child.stderr


def _site_packages(venv: Path) -> Path:
    """The venv's site-packages folder, as its own interpreter says."""
    found = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(found.stdout.strip())


def _clean_env(tmp: Path) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        ONELICENSE_PREFECT_PORT=str(_free_port()),
        PREFECT_LOGGING_LEVEL="WARNING",
        HOME=str(tmp),  # no ~/.prefect of the machine
    )
    return env


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_runs_the_demo_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    env = _clean_env(tmp_path)
    onelicense = installed / "bin" / "onelicense"
    where = subprocess.run(
        [installed / "bin" / "python", "-c", "import onelicense.templates as t, onelicense.forms as f; print(t.FOLDER, f.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(REPO) not in where and "site-packages" in where  # the wheel's copy, not the checkout

    checkout_data = _files(REPO / "data" / "licenses")  # a checkout that already ran the demo has its own licenses
    demo = subprocess.run(
        [onelicense, "demo", "--min-delay", "0", "--max-delay", "0.2", "--seed", "7"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Prefect 服务器" in demo.stdout and "行业综合许可证" in demo.stdout
    [pdf] = (work / "data" / "licenses").glob("*.pdf")
    assert (work / "data" / "prefect").is_dir()  # Prefect's home in the data folder, not the machine's
    for private in (work / "data", work / "data" / "onelicense.db", work / "data" / "prefect" / "prefect.db"):
        assert private.stat().st_mode & 0o077 == 0, private  # ID numbers and phones: owner only
    assert _files(REPO / "data" / "licenses") == checkout_data  # nothing written into the checkout

    verify = subprocess.run(
        [onelicense, "verify", str(pdf)], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "签名有效" in verify.stdout


@pytest.mark.slow
def test_a_prefect_server_that_cannot_start_is_reported_with_the_setting_to_change(
    installed: Path, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path)
    with socket.socket() as holder:  # somebody else holds the port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        env["ONELICENSE_PREFECT_PORT"] = str(holder.getsockname()[1])
        result = subprocess.run(
            [installed / "bin" / "onelicense", "demo"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "已被其他程序占用" in output and "ONELICENSE_PREFECT_PORT" in output


def _files(folder: Path) -> dict[str, int]:
    """Every file under `folder` with its modification time (ns); empty when the folder does not exist."""
    return {str(f): f.stat().st_mtime_ns for f in folder.rglob("*") if f.is_file()} if folder.exists() else {}
