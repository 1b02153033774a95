"""The README's promises: two set-up commands first, the second one run verbatim by CI."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_commands():
    text = (ROOT / "README.md").read_text()
    assert text.split("\n\n")[1].startswith("```sh\n")  # right under the title
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("dmmemu demo")
    assert "'.[test]'" in commands[1] and commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_readme_practice_table_is_the_registry():
    from dmmemu.practices import PRACTICES

    text = (ROOT / "README.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    table = {}
    for line in rows:
        key, summary = (cell.strip() for cell in line.strip("|").split("|")[:2])
        table[key.strip("`")] = summary
    assert {key: table.get(key) for key in PRACTICES} == {
        key: cls.summary for key, cls in PRACTICES.items()}
