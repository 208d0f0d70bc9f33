"""The demos run and say what they should (the README's first command runs one of them)."""
import re
import runpy
from pathlib import Path

DEMOS = Path(__file__).resolve().parent.parent / "demos"


def test_basics_demo_runs_and_its_numbers_agree_with_the_hand_derivations(capsys):
    runpy.run_path(str(DEMOS / "basics.py"), run_name="__main__")
    out = capsys.readouterr().out
    for line in out.splitlines():
        if "(by hand:" in line:  # every "x = A (by hand: ... = B)" line has A == B
            ours = re.findall(r"(-?[\d.]+)\s+\(by hand", line)[0]
            theirs = re.findall(r"(-?[\d.]+)\)$", line)[0]
            assert float(ours) == float(theirs), line
    assert "da = 2.0" in out
    assert "f' = 12.0,  f'' = 12.0,  f''' = 6.0" in out
    assert "[[802.0, -400.0], [-400.0, 200.0]]" in out
    assert "-> True" in out and "parents ()" in out
