"""List the public functions and methods of grimoire modules that lack annotations (issue 12 item 3).

Usage: PYTHONPATH=python python .ci/unannotated.py grimoire.stats grimoire.linalg ...
Prints one line per function (the unannotated parameters, "return" when the return type is
missing) and the count on stderr; exits 0 (a report, not a gate, until every module is done).
"""
import importlib
import inspect
import sys

mods = sys.argv[1:]
tot = 0
for name in mods:
    m = importlib.import_module(name)
    names = getattr(m, "__all__", [n for n in vars(m) if not n.startswith("_")])
    for n in names:
        obj = getattr(m, n)
        fns = []
        if inspect.isfunction(obj) and obj.__module__.startswith("grimoire"):
            fns.append((n, obj))
        elif inspect.isclass(obj) and obj.__module__.startswith("grimoire"):
            for mn, mv in vars(obj).items():
                if inspect.isfunction(mv) and (not mn.startswith("_") or mn == "__init__"):
                    fns.append((f"{n}.{mn}", mv))
        for fn_name, fn in fns:
            sig = inspect.signature(fn)
            miss = [p for p, prm in sig.parameters.items()
                    if p not in ("self", "cls") and prm.annotation is inspect.Parameter.empty]
            ret = sig.return_annotation is inspect.Signature.empty and fn.__name__ != "__init__"
            if miss or ret:
                tot += 1
                print(f"{name}.{fn_name}: params {miss}{' return' if ret else ''}")
print("total", tot, file=sys.stderr)
