"""``dmmemu gen``: the synthetic trace generator as a sub-command.

Options map onto ``dmmemu.synthetic.generator.SyntheticTrace``; every value ends up in the written
``trace.toml``. Bad values raise dmmemu errors, which the ``dmmemu`` command prints as one
line (exit status 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dmmemu.cli._common import in_option_words, parse_params, user_errors
from dmmemu.synthetic.mobility_models import MOBILITY_MODELS
from dmmemu.synthetic.traffic import ARRIVALS
from dmmemu.topology.generators import TOPOLOGY_GENERATORS

# Option → mobility model parameter; a model without that parameter rejects the option.
_MOBILITY_OPTIONS = {"speed_min": "speed_min_mps", "speed_max": "speed_max_mps",
                     "pause_max": "pause_max_s"}


# SyntheticTrace field -> the option that sets it, for errors in the CLI's words.
_SPEC_OPTIONS = {"mns": "--mns", "packets": "--packets", "seed": "--seed",
                 "duration_s": "--duration", "holes_per_mn_hour": "--holes-per-mn-hour",
                 "hole_median_s": "--hole-median"}


@click.command("gen")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Trace directory to write.")
@click.option("--mns", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--packets", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Exact packet count; the flow arrival rate is calibrated to it.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--duration", type=float, default=1800.0, show_default=True,
              help="Seconds.")
@click.option("--topology", type=click.Choice(list(TOPOLOGY_GENERATORS)), default="flat-wifi",
              show_default=True)
@click.option("--mobility", type=click.Choice(list(MOBILITY_MODELS)),
              default="random-waypoint", show_default=True)
@click.option("--speed-min", type=float, default=None, help="m/s (default: the model's).")
@click.option("--speed-max", type=float, default=None, help="m/s (default: the model's).")
@click.option("--pause-max", type=float, default=None, help="s (default: the model's).")
@click.option("--mobility-param", "mobility_params", multiple=True, metavar="KEY=VALUE",
              help="Any other mobility model parameter (repeatable), e.g. alpha=0.9.")
@click.option("--topology-param", "topology_params", multiple=True, metavar="KEY=VALUE",
              help="A parameter of the topology generator (repeatable), e.g. rows=6; "
              "docs/topologies.md lists them.")
@click.option("--traffic-param", "traffic_params", multiple=True, metavar="KEY=VALUE",
              help="A traffic model parameter (repeatable), e.g. local_peer_share=0.5.")
@click.option("--app-param", "app_params", multiple=True, metavar="APP.KEY=VALUE",
              help="A parameter of one application of the flow mix (repeatable), e.g. "
              "voice.address_type=session-lasting; a new APP adds an application.")
@click.option("--network-param", "network_params", multiple=True, metavar="KEY=VALUE",
              help="A mobile network parameter (repeatable), e.g. router_fraction=0.02: "
              "mobile routers and MNs riding behind them (networks.parquet).")
@click.option("--arrivals", type=click.Choice(list(ARRIVALS)), default="poisson",
              show_default=True)
@click.option("--size-cdf", type=click.Path(path_type=Path), default=None,
              help="CSV or Parquet (size, cumulative_share): every application's flow "
              "sizes follow this empirical CDF.")
@click.option("--holes-per-mn-hour", type=click.FloatRange(min=0.0), default=0.0,
              show_default=True, help="Coverage holes per attached MN-hour: detaches in the "
              "middle of the trace that flows run through.")
@click.option("--hole-median", type=click.FloatRange(min=0.0, min_open=True), default=10.0,
              show_default=True, help="Median hole duration, s (lognormal).")
@click.option("--overwrite", is_flag=True, help="Replace an existing trace directory.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@user_errors
def gen_command(out: Path, mns: int, packets: int, seed: int, duration: float, topology: str,
                mobility: str, speed_min: float | None, speed_max: float | None,
                pause_max: float | None, mobility_params: tuple[str, ...],
                topology_params: tuple[str, ...], traffic_params: tuple[str, ...],
                app_params: tuple[str, ...], network_params: tuple[str, ...], arrivals: str,
                size_cdf: Path | None, holes_per_mn_hour: float, hole_median: float,
                overwrite: bool, progress: bool) -> None:
    """Generate a synthetic trace: MNs moving over a grid of PoAs, heavy-tailed flows."""
    from dmmemu.model_params import ParameterError
    from dmmemu.synthetic.generator import SyntheticTrace
    from dmmemu.synthetic.mobile_networks import MobileNetworkModel
    from dmmemu.synthetic.traffic import EmpiricalSize

    params = parse_params(mobility_params, option="--mobility-param")
    given = {"speed_min": speed_min, "speed_max": speed_max, "pause_max": pause_max}
    fields = MOBILITY_MODELS[mobility].__dataclass_fields__
    for option, value in given.items():
        if value is None:
            continue
        key = _MOBILITY_OPTIONS[option]
        if key not in fields:
            raise ParameterError(f"--{option.replace('_', '-')}: the {mobility!r} model has "
                                 f"no {key}; its parameters: {', '.join(fields)} (set them "
                                 "with --mobility-param KEY=VALUE)")
        params[key] = value
    traffic = _traffic_model(arrivals, parse_params(traffic_params, option="--traffic-param"),
                             parse_params(app_params, option="--app-param"))
    if size_cdf is not None:
        EmpiricalSize.read(size_cdf)  # a bad file fails here, naming its line and field
        recorded = str(size_cdf.resolve())  # trace.toml stays usable from any directory
        traffic = traffic.with_(apps={
            name: _with_file(app, recorded) for name, app in traffic.apps.items()})
    networks = MobileNetworkModel.from_params(
        parse_params(network_params, option="--network-param"), where="--network-param")
    try:
        spec = SyntheticTrace(mns=mns, packets=packets, seed=seed, duration_s=duration,
                              topology=topology,
                              topology_params=_topology_params(topology, topology_params),
                              mobility=mobility, mobility_params=params,
                              traffic=traffic, holes_per_mn_hour=holes_per_mn_hour,
                              hole_median_s=hole_median, networks=networks)
    except ParameterError as exc:
        raise in_option_words(exc, "SyntheticTrace", _SPEC_OPTIONS) from None
    path = spec.generate(out, overwrite=overwrite, progress=progress)
    click.echo(f"wrote {path}")


def _topology_params(topology: str, pairs: tuple[str, ...]) -> dict[str, Any] | None:
    """The generator's parameters: its trace defaults, then ``--topology-param`` over them
    (None, the defaults, when none is given)."""
    from dmmemu.synthetic.generator import DEFAULT_TOPOLOGY_PARAMS

    if not pairs:
        return None
    return {**DEFAULT_TOPOLOGY_PARAMS.get(topology, {}),
            **parse_params(pairs, option="--topology-param")}


def _traffic_model(arrivals: str, params: dict[str, Any], app_params: dict[str, Any]) -> Any:
    """The default traffic model with ``--traffic-param`` and ``--app-param`` over it. An
    ``--app-param`` naming an application the mix lacks adds one (it then needs share,
    continuity, size_law and rate_pps); a key no application has is an error."""
    from dmmemu.model_params import ParameterError
    from dmmemu.synthetic.traffic import TrafficModel

    for reserved in ("apps", "packets"):
        if reserved in params:
            hint = "--app-param APP.KEY=VALUE" if reserved == "apps" else "--packets"
            raise ParameterError(f"--traffic-param {reserved}: set it with {hint}")
    base = TrafficModel()
    apps = {name: app.params() for name, app in base.apps.items()}
    for dotted, value in app_params.items():
        name, sep, key = dotted.partition(".")
        if not sep or not name or not key:
            raise ParameterError(f"--app-param {dotted}: write APP.KEY=VALUE, e.g. "
                                 "voice.share=0.2")
        apps.setdefault(name, {})[key] = value  # a new name adds an application to the mix
    return TrafficModel.from_params({**base.params(), "arrivals": arrivals, **params,
                                     "apps": apps}, where="--traffic-param / --app-param")


def _with_file(app: Any, size_file: str) -> Any:
    import dataclasses

    return dataclasses.replace(app, size_law="empirical", size_scale=None, size_shape=None,
                               size_file=size_file)
