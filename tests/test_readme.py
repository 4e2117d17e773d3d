"""Every `manage.py` command the README shows works as written in a new shell after `make`.

A newcomer copies the README's lines into a fresh terminal: no exported DEBUG, no activated
virtualenv. The commands run here with an environment stripped down to what such a shell has
(only the scratch database directory is set, so the test does not touch `var/`).
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = re.compile(r"^\.venv/bin/python manage\.py .+$")


def readme_commands() -> list[str]:
    """The `.venv/bin/python manage.py …` lines of the README's shell blocks, comments removed."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if COMMAND.match(line):
                commands.append(line)
    return commands


def fresh_shell(command: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    env["AIRPORTAL_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_readme_manage_commands_work_in_a_new_shell(tmp_path):
    if not (ROOT / ".venv/bin/python").exists():
        pytest.skip("no .venv: run through `make test`")
    made = subprocess.run(["make", "-s", ".env"], cwd=ROOT, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    commands = readme_commands()
    assert any("createapitoken collector --role ingest" in command for command in commands)

    migrated = fresh_shell(".venv/bin/python manage.py migrate --noinput", tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    for command in commands:
        result = fresh_shell(command, tmp_path)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        if "createapitoken" in command:
            assert result.stdout.strip().splitlines()[-1].startswith("air_")
