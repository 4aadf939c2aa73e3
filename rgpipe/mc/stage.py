"""``python -m rgpipe mc``: the Monte Carlo stage's command line.

The flags are generated from the systems' declared options (:mod:`rgpipe.mc.systems`):
one flag per option, and one flag for the options of several systems that share it (the
same declaration, e.g. ``--sweeps``, or options of the same kind, e.g. ``--coupling`` for
the Ising and XY couplings and the phi^4 betas), whose help lists each system's meaning
and default.  A flag that does not belong to the chosen ``--system`` is an error, as is
any value the config schema rejects.  The job slice (the options after defaults are filled
in) is stored in the output file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from rgpipe.config import ConfigError
from rgpipe.mc.systems import SYSTEMS, System, validate_job
from rgpipe.runtime import pick_device, positive_int
from rgpipe.spec import Param
from rgpipe.store import StoreError, check_output


@dataclass(frozen=True)
class Flag:
    """One command-line flag and the option of each system it sets.

    Attributes:
        option: the flag (``--coupling``).
        dest: the argparse destination.
        uses: (system, declared option) pairs, in registry order.
    """

    option: str
    dest: str
    uses: tuple[tuple[System, Param], ...]

    @property
    def systems(self) -> tuple[str, ...]:
        """The systems the flag applies to."""
        return tuple(s.name for s, _ in self.uses)

    def help(self) -> str:
        """The declaration's help; for a flag of several systems, one description per
        distinct declaration, prefixed by the systems it serves (unless one declaration
        serves every system)."""
        groups: dict[int, tuple[Param, list[System]]] = {}
        for s, p in self.uses:
            groups.setdefault(id(p), (p, []))[1].append(s)
        everyone = len(groups) == 1 and len(self.uses) == len(SYSTEMS)
        texts = []
        for p, users in groups.values():
            text = _param_help(p, all(p.name not in u.conditional for u in users))
            if len(self.uses) > 1 and not everyone:
                text = f"{'/'.join(u.name for u in users)}: {text}"
            texts.append(text)
        return " | ".join(texts)


def _param_help(p: Param, unconditional: bool) -> str:
    """The declaration's help; an option without a default that the schema requires only
    with others (phi^4's two forms, a potential's parameters) is not marked required."""
    text = p.help()
    return text if unconditional else text.removesuffix(" [required]")


def flags() -> dict[str, Flag]:
    """Every flag of the stage by option string, in the order systems declare them.

    Raises:
        ValueError: two options sharing a flag differ in kind (one flag cannot parse both).
    """
    uses: dict[str, list[tuple[System, Param]]] = {}
    for s in SYSTEMS.values():
        for p in s.job_params:
            uses.setdefault(p.option, []).append((s, p))
    out = {}
    for option, pairs in uses.items():
        kinds = {p.kind for _, p in pairs}
        if len(kinds) > 1:
            raise ValueError(f"flag {option} is declared with different kinds: {sorted(kinds)}")
        out[option] = Flag(option, option.removeprefix("--").replace("-", "_"), tuple(pairs))
    return out


def _groups() -> Iterator[tuple[str, list[Flag]]]:
    """Flags of several systems first, then each system's own."""
    shared = "options of several systems"
    by_group: dict[str, list[Flag]] = {shared: []}
    by_group.update({f"--system {name} only": [] for name in SYSTEMS})
    for flag in flags().values():
        key = f"--system {flag.systems[0]} only" if len(flag.systems) == 1 else shared
        by_group[key].append(flag)
    for title, group in by_group.items():
        if group:
            yield title, group


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the ``mc`` options (defaults come from the systems' declarations)."""
    p.add_argument("--system", required=True, choices=list(SYSTEMS), help="the model")
    p.add_argument("--out", required=True, help="output HDF5 file (written atomically)")
    p.add_argument("--threads", type=positive_int, default=1, help="compute threads [default: 1]")
    p.add_argument("--device", default="auto", help="torch device for --backend torch")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    for title, group in _groups():
        g = p.add_argument_group(title)
        for flag in group:
            param = flag.uses[0][1]
            replace(param, name=flag.dest).add_argument(g, help_text=flag.help())


def job_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The validated job slice of the chosen system (raises ConfigError)."""
    every = flags()
    stray = [
        f.option
        for f in every.values()
        if args.system not in f.systems and getattr(args, f.dest, None) is not None
    ]
    if stray:
        raise ConfigError(
            f"option(s) {', '.join(sorted(stray))} do not apply to --system {args.system}"
        )
    s = SYSTEMS[args.system]
    job: dict[str, Any] = {"system": s.name}
    for param in s.job_params:
        value = getattr(args, every[param.option].dest, None)
        if value is not None:
            job[param.name] = list(value) if isinstance(value, list | tuple) else value
    for key in s.points:
        if key in job:
            job[key] = sorted(job[key])
    return validate_job(job)


def run(args: argparse.Namespace) -> int:
    """Validate, simulate, write."""
    try:
        job = job_from_args(args)
        check_output(args.out)
        if job.get("backend") == "torch":
            pick_device(args.device)
    except (ConfigError, StoreError, ValueError) as exc:
        print(f"rgpipe mc: {exc}", file=sys.stderr)
        return 2
    from rgpipe.mc.output import write_mc
    from rgpipe.runtime import set_threads

    set_threads(args.threads)
    result = SYSTEMS[job["system"]].run(job, device=args.device, progress=not args.quiet)
    write_mc(args.out, result, job=job, seed=job["seed"])
    print(f"rgpipe mc: wrote {args.out}", file=sys.stderr)
    return 0
