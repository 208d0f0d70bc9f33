"""Work started when the tests are collected, so that it runs beside the tests before the one that needs it."""
import subprocess
import sys
from pathlib import Path

REFERENCE = "test_demo_ipynb_runs_unchanged_and_gives_micrographs_losses"


def pytest_collection_modifyitems(config, items):
    """micrograd's own demo.ipynb takes about two minutes on micrograd itself: when the test that compares with it
    is selected, micrograd's run starts now, in another process (the test reads its result)."""
    if any(item.name == REFERENCE for item in items):
        config.micrograd_reference = subprocess.Popen(
            [sys.executable, "-c", "import test_micrograd; test_micrograd.print_micrograd_reference()"],
            cwd=Path(__file__).parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
