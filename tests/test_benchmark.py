"""The benchmark program runs (a smoke test in --quick mode; no timing is asserted anywhere in the tests)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_runs_checks_every_engine_and_writes_its_report(tmp_path):
    pytest.importorskip("micrograd", reason="micrograd is not installed: pip install -e '.[bench]'")
    readme_before = (ROOT / "README.md").read_text()
    results = tmp_path / "results.md"
    done = subprocess.run([sys.executable, "-m", "demos.benchmark", "--quick", "--rounds", "1", "--results",
                           str(results)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]  # 1 if any engine computed wrong
    report = results.read_text()
    assert "WRONG RESULT" not in report and "failed:" not in report
    for row in ["W1 moons training step", "W2 chain of depth 1,000", "W2 chain of depth 10,000", "W3 sum of",
                "W4 bytes per op", "W5 memory"]:
        line = next(line for line in report.splitlines() if line.startswith(f"| {row}"))
        assert line.count("|") == 7  # workload, micrograd, and the four other engines
    assert "micrograd-rust" in report and "Python" in report
    assert (ROOT / "README.md").read_text() == readme_before  # a quick run leaves the README alone


def test_worker_checks_results_against_autodiff(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from demos import benchmark

    assert benchmark.close(1.0, 1.0 + 1e-12) and not benchmark.close(1.0, 1.0001)
    out = benchmark.worker("autodiff", "W2", 100)
    assert out["ok"] and out["seconds"] > 0
    out = benchmark.worker("autodiff-compiled", "W2", 100)
    assert out["ok"]
    assert benchmark.wide_reference(10) == pytest.approx(benchmark.wide("autodiff", 10)[1])
