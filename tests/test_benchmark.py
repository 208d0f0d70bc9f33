"""The benchmark program runs (a smoke test in --quick mode; no timing is asserted anywhere in the tests)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_runs_checks_every_engine_and_writes_only_its_report(tmp_path):
    pytest.importorskip("micrograd", reason="micrograd is not installed: pip install -e '.[bench]'")
    committed = {p: (ROOT / p).read_text() for p in ("README.md", "docs/compile.md", "demos/benchmark_results.md")}
    results = tmp_path / "results.md"
    done = subprocess.run([sys.executable, "-m", "demos.benchmark", "--quick", "--rounds", "1", "--results",
                           str(results)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]  # 1 if any engine computed wrong
    report = results.read_text()
    assert "WRONG RESULT" not in report and "failed:" not in report and "not installed" not in report
    for row in ["W1 moons training step", "W2 chain of depth 1,000", "W2 chain of depth 10,000", "W3 sum of",
                "W4 bytes per op", "W5 memory", "W6 tiny GPT", "W6 with the garbage collector off"]:
        line = next(line for line in report.splitlines() if line.startswith(f"| {row}"))
        assert line.count("|") == 6  # workload, micrograd, autodiff, autodiff compiled, PyTorch
    head = "| workload | local-gradients engine | autodiff | micrograd 0.1.0 | PyTorch 0-d tensors |"
    gpt = report.split(head, 1)[1].splitlines()
    assert gpt[2].startswith("| W6 tiny GPT") and gpt[3].startswith("| W6 with the garbage collector off")
    assert "micrograd-rust is not in the table" in report and "Python" in report
    for path, text in committed.items():
        assert (ROOT / path).read_text() == text  # a quick run leaves the committed report and the README alone


def test_help_says_how_long_each_run_takes():
    done = subprocess.run([sys.executable, "-m", "demos.benchmark", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "about a minute on 2 cores" in done.stdout and "about 11 minutes" in done.stdout


def test_worker_checks_results_against_autodiff(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from demos import benchmark

    assert benchmark.close(1.0, 1.0 + 1e-12) and not benchmark.close(1.0, 1.0001)
    out = benchmark.worker("autodiff", "W2", 100)
    assert out["ok"] and out["seconds"] > 0
    out = benchmark.worker("autodiff-compiled", "W2", 100)
    assert out["ok"]
    assert benchmark.wide_reference(10) == pytest.approx(benchmark.wide("autodiff", 10)[1])


def test_the_tiny_gpt_gives_the_same_loss_with_autodiff_and_the_local_gradients_engine(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setattr(sys, "setrecursionlimit", lambda n: None)  # the engine's recursion stays in this process
    from demos import benchmark

    (loss, grads), _, last = benchmark.gpt_train(benchmark._gpt_engine("autodiff"), 2)
    (ref_loss, ref_grads), _, ref_last = benchmark.gpt_train(benchmark._gpt_engine("local"), 2)
    assert len(grads) == 4192 and loss == ref_loss and last == ref_last  # the same floats: bit for bit
    assert max(abs(a - b) for a, b in zip(grads, ref_grads)) <= 1e-15 and any(g != 0 for g in grads)
    assert benchmark.worker("autodiff", "W6-gc-off", 1)["ok"]


def test_against_a_revision_runs_both_trees_interleaved_and_removes_its_worktree(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from demos import benchmark

    seen = []

    def fake(engine, workload, size, timeout, root=ROOT):
        seen.append((engine, workload, Path(root)))
        assert (Path(root) / "autodiff" / "engine.py").exists()
        mine = Path(root) == ROOT
        seconds = {"micrograd": 1.0, "local": 2.0}.get(engine, 0.5 if mine else 0.25)
        trace = {"seconds": 1.5 if mine else 1.0} if engine.startswith("autodiff-compiled") else None
        return {"seconds": seconds, "ok": True, "trace": trace}

    monkeypatch.setattr(benchmark, "run_worker", fake)
    rows = benchmark.against("HEAD", 2, progress=lambda line: None)
    others = {root for _, _, root in seen if root != ROOT}
    assert len(others) == 1 and not next(iter(others)).exists()  # the worktree is gone afterwards
    assert len(seen) == 2 * (2 + 4 * 2)  # rounds x (the two bases, and four workloads at both revisions)
    assert rows[0] == ("W1 autodiff / micrograd 0.1.0", "0.25x (0.25-0.25)", "0.5x (0.5-0.5)", "2x (2-2)")
    assert rows[1][0].startswith("W6") and rows[1][3] == "2x (2-2)"
    first = [r for r in rows if "first call" in r[0]]
    assert len(first) == 2 and first[0][1:] == ("4 (4-4)", "3 (3-3)", "1.5x (1.5-1.5)")  # trace / eager step
