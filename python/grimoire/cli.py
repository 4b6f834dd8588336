"""The ``grimoire`` command: ``info``, ``tour``, ``bench`` and ``run`` (N ranks over MPI)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from grimoire._version import __version__

    parser = argparse.ArgumentParser(
        prog="grimoire",
        description="The ML Grimoire, runnable and fast (pip install ml-grimoire; import grimoire).")
    parser.add_argument("--version", action="version",
                        version=f"ml-grimoire {__version__} (import name: grimoire)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="build, CPU paths per kernel family, threads, CUDA")
    tour = sub.add_parser("tour", help="walk the primer: worked examples and showcase models")
    tour.add_argument("sections", nargs="*", help="sections to run, e.g. 2.2.1 or 4.2 (default: all)")
    tour.add_argument("--list", action="store_true", help="list the sections and where they live")
    tour.add_argument("--out", type=Path, default=Path("tour_output"), help="folder for plots")
    tour.add_argument("--quick", action="store_true", help="smaller models, for a fast look")
    tour.add_argument("--html", type=Path, nargs="?", const=Path("tour_book"), default=None, metavar="DIR",
                      help="also write the tour as one self-contained HTML book into DIR (default tour_book)")
    tour.add_argument("--quiet", action="store_true", help="print nothing but errors (for scripts)")
    bench = sub.add_parser("bench", help="grimoire against its peers (numpy, torch, scikit-learn)")
    bench.add_argument("family", nargs="?", help="benchmark to run (default: list them)")
    bench.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the benchmark")
    run = sub.add_parser("run", help="run a script on N ranks over MPI (grimoire.distributed)")
    run.add_argument("-n", "--ranks", type=int, required=True, help="number of ranks (processes)")
    run.add_argument("script", nargs=argparse.REMAINDER, help="script.py [args], or -m module [args]")
    args = parser.parse_args(argv)

    if args.command == "info":
        from grimoire import info

        print(info())
    elif args.command == "tour":
        from grimoire import tour as tour_mod

        if args.list:
            for s in tour_mod.select(args.sections):
                print(f"{s.number:<8} {s.title:<50} {s.where}")
        else:
            tour_mod.run(args.sections, args.out, quick=args.quick, html=args.html, quiet=args.quiet)
    elif args.command == "bench":
        from grimoire import bench as bench_mod

        if args.family is None:
            print("benchmarks: " + ", ".join(bench_mod.families()))
            print("run one with: grimoire bench FAMILY [args]")
        else:
            bench_mod.run(args.family, args.args)
    elif args.command == "run":
        from grimoire.distributed import launch

        return launch.run(args.ranks, args.script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
