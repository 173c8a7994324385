"""Mutation score per module from a finished `mutmut run` (`make mutation`): killed / (generated - equivalent).

A mutant is killed when a test failed or ran out of time under it. The equivalent mutants, those that change
nothing a caller could observe, are listed with their reason in tests/mutation/equivalent.toml, keyed by the
function and the changed lines (not by mutmut's number, which shifts when the function changes), so the score
is the same from a fresh clone. An entry matching no surviving mutant is reported as stale.

    python scripts/mutation_score.py --mutants build/mutation/mutants --equivalent tests/mutation/equivalent.toml

A filtered run (`make mutation MUTANTS='ses_guard.sync_thresholds*'`) scores the modules it checked, from
the mutants it checked. Exit status: 0 when every scored module reaches --minimum (default 90 %), 1 otherwise, 2
when nothing was checked or, after a complete run, the list names a mutant that is no survivor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: mutmut itself installs toml there
    import toml as tomllib  # type: ignore[no-redef]

# mutmut's exit codes (mutmut.stats.status_by_exit_code): a failing test (1, 3) or a timeout kills a mutant.
KILLED_CODES = {1, 3, 24, -24, 36, 152, 255}
SURVIVED_CODE = 0
NO_TESTS_CODES = {5, 33}


@dataclass
class ModuleScore:
    generated: int = 0
    unchecked: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: List[str] = field(default_factory=list)
    other: Counter = field(default_factory=Counter)

    @property
    def checked(self) -> int:
        return self.generated - self.unchecked

    @property
    def score(self) -> float:
        scored = self.checked - self.equivalent
        return 100.0 * self.killed / scored if scored else 100.0


def changed_lines(diff: str) -> Tuple[str, ...]:
    """The mutant's removed and added lines, stripped: its identity within its function."""
    return tuple(
        line[0] + " " + line[1:].strip()
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def function_of(mutant: str) -> str:
    return mutant.partition("__mutmut_")[0]


def load_equivalent(path: Path) -> Dict[Tuple[str, Tuple[str, ...]], str]:
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("mutant", [])
    listed = {}
    for entry in entries:
        key = (entry["function"], changed_lines(entry["change"]))
        if key in listed:
            raise SystemExit(f"{path}: {entry['function']} lists the same change twice")
        listed[key] = entry["reason"]
    return listed


def diff_of(mutant: str, path: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # reads ./mutants, like `mutmut show`

    return get_diff_for_mutant(mutant, path=path)


def scores(mutants_dir: Path, equivalent: Dict[Tuple[str, Tuple[str, ...]], str]):
    by_module: Dict[str, ModuleScore] = {}
    used = set()
    os.chdir(mutants_dir.resolve().parent)
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        source = str(meta.relative_to("mutants"))[: -len(".meta")]
        module = source[: -len(".py")].replace(os.sep, ".")
        score = by_module.setdefault(module, ModuleScore())
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for mutant, code in sorted(exit_codes.items()):
            score.generated += 1
            if code in KILLED_CODES:
                score.killed += 1
                continue
            if code is None:
                score.unchecked += 1
                continue
            key = (function_of(mutant), changed_lines(diff_of(mutant, source)))
            if code == SURVIVED_CODE and key in equivalent:
                score.equivalent += 1
                used.add(key)
            elif code == SURVIVED_CODE:
                score.survivors.append(mutant)
            else:
                score.other["no tests" if code in NO_TESTS_CODES else f"exit {code}"] += 1
                score.survivors.append(mutant)
    complete = not any(score.unchecked for score in by_module.values())
    stale = sorted(set(equivalent) - used) if complete else []
    return {module: score for module, score in by_module.items() if score.checked}, stale


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, required=True, help="mutmut's mutants/ directory")
    parser.add_argument("--equivalent", type=Path, required=True, help="the equivalent mutants (TOML)")
    parser.add_argument("--minimum", type=float, default=90.0, help="score every module must reach, in percent")
    parser.add_argument("--survivors", action="store_true", help="list each surviving mutant")
    args = parser.parse_args(argv)

    equivalent = load_equivalent(args.equivalent.resolve())
    by_module, stale = scores(args.mutants, equivalent)
    if not by_module:
        print(f"no mutant checked in {args.mutants}: run `make mutation` first", file=sys.stderr)
        return 2
    width = max(len(module) for module in by_module)
    print(f"{'module':<{width}} {'mutants':>7} {'equivalent':>10} {'killed':>6} {'survived':>8} {'score':>7}")
    for module, score in sorted(by_module.items()):
        notes = [f"{n} {what}" for what, n in sorted(score.other.items())]
        if score.unchecked:
            notes.append(f"{score.unchecked} of {score.generated} not checked")
        print(
            f"{module:<{width}} {score.checked:>7} {score.equivalent:>10} {score.killed:>6} "
            f"{len(score.survivors):>8} {score.score:>6.1f}%" + (f"  ({'; '.join(notes)})" if notes else "")
        )
        if args.survivors:
            for mutant in score.survivors:
                print(f"    {mutant}")
    for function, lines in stale:
        print(f"stale equivalent entry (no such survivor): {function}: {' / '.join(lines)}", file=sys.stderr)
    below = sorted(module for module, score in by_module.items() if score.score < args.minimum)
    if below:
        print(f"below {args.minimum:g}%: {', '.join(below)}", file=sys.stderr)
    return 2 if stale else 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
