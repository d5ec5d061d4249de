"""Threshold files (YAML numbers only) -> validated floor objects that explain a breach.

- `floors`: Floor and FidelityFloor, and how a file's numbers resolve: the most specific override
  else the section's default (`floor`), layers merged over each other (`merged`, `rule`).
- `checks`: what is checked when a file is read; every problem names the file, the key and the fix.
- `verdicts`: a result held against its floor (`judge`, `check`) -> Verdict.
- one module per kind of file: `choice` (the CPS files of the choice tracks: `load`), `trust`,
  `measured` (efficiency and cross), and `fidelity` (the optional `fidelity:` section of a file).

Each track reads its own file with these (medcheck.tracks); the gate and `verify` call `judge`.
"""

from medcheck.thresholds.checks import read_yaml
from medcheck.thresholds.choice import Thresholds, load
from medcheck.thresholds.floors import FidelityFloor, Floor, generation_budget
from medcheck.thresholds.measured import CrossThresholds, EfficiencyThresholds
from medcheck.thresholds.trust import TrustThresholds
from medcheck.thresholds.verdicts import FidelityVerdict, IntervalDecision, Verdict, check, judge

__all__ = ["CrossThresholds", "EfficiencyThresholds", "FidelityFloor", "FidelityVerdict", "Floor", "IntervalDecision",
           "Thresholds", "TrustThresholds", "Verdict", "check", "generation_budget", "judge", "load", "read_yaml"]
