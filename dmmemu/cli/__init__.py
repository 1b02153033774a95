"""The ``dmmemu`` command: one group, its sub-commands in the modules beside this one."""

from __future__ import annotations

import warnings

import click

from dmmemu.cli._common import UserErrorGroup
from dmmemu.errors import DmmemuWarning


@click.group(cls=UserErrorGroup)
@click.version_option(package_name="dmmemu")
def main() -> None:
    """dmmemu: replay mobility and traffic traces through mobility-management practices."""


@main.group("import")
def import_group() -> None:
    """Turn recorded movement (SUMO, drive tests, association logs) into traces."""


def _register_commands() -> None:
    from dmmemu.cli.gen import gen_command
    from dmmemu.cli.imports import assoc_command, drivelog_command, sumo_command
    from dmmemu.cli.report import pcap_command, report_command
    from dmmemu.cli.run import demo_command, practices_command, run_command

    for command in (run_command, practices_command, demo_command, gen_command, report_command,
                    pcap_command):
        main.add_command(command)
    for command in (sumo_command, drivelog_command, assoc_command):
        import_group.add_command(command)


# Warnings of the imports (an installed practice that does not load) are said once the
# command runs, in the CLI's words (UserErrorGroup).
with warnings.catch_warnings(record=True) as _caught:
    warnings.simplefilter("always", DmmemuWarning)
    _register_commands()
main.startup_warnings = [w for w in _caught if issubclass(w.category, DmmemuWarning)]
