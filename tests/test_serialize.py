"""Saving and loading: JSON round trips, atomic writes, and every bad file refused without touching the model."""
import json
import os

import pytest

from nn import MLP, Layer, Neuron


@pytest.fixture
def model():
    return MLP(2, [3, 2], activation="tanh", seed=1)


@pytest.fixture
def saved(tmp_path, model):
    path = tmp_path / "model.json"
    model.save(path)
    return path


def test_round_trip_restores_every_parameter_and_output(saved, model):
    other = MLP(2, [3, 2], activation="tanh", seed=2)
    assert other.state_dict() != model.state_dict()
    assert other.load(saved) is other
    assert other.state_dict() == model.state_dict()
    assert [v.data for v in other([0.3, -0.7])] == [v.data for v in model([0.3, -0.7])]
    rebuilt = MLP.from_file(saved)
    assert rebuilt.config() == model.config() and rebuilt.state_dict() == model.state_dict()
    with pytest.raises(TypeError, match="from_file"):  # one meaning per name: load fills a model, from_file builds
        MLP.load(saved)
    for bad in ("/dev/zero", saved.parent):  # but a bad file is refused as one, on the class too
        with pytest.raises(ValueError, match="not a regular file"):
            MLP.load(bad)
    _claim(saved, [3000, 3000, 1])
    with pytest.raises(ValueError, match="9015001"):
        MLP.load(saved)


def test_the_file_is_versioned_readable_json(saved, model):
    text = saved.read_text()
    data = json.loads(text)
    assert data["format"] == "autodiff.nn" and data["version"] == 1 and data["model"] == "MLP"
    assert data["config"] == {"nin": 2, "nouts": [3, 2], "activation": "tanh", "output_activation": "linear"}
    assert data["parameters"] == model.state_dict()
    assert "\n" in text and '"layers.0.neurons.0.w.0"' in text  # one parameter per line, by name


@pytest.mark.parametrize("make", [lambda: Neuron(3, "sigmoid"), lambda: Layer(2, 2, "relu")], ids=["Neuron", "Layer"])
def test_every_module_saves_and_loads(tmp_path, make):
    a, b = make(), make()
    a.save(tmp_path / "m.json")
    b.load(tmp_path / "m.json")
    assert a.state_dict() == b.state_dict()
    assert type(a).from_file(tmp_path / "m.json").state_dict() == a.state_dict()


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _remove_one(data):
    data["parameters"].pop("layers.1.neurons.0.b")


def _list_for_a_number(data):
    data["parameters"]["layers.0.neurons.1.w.0"] = [0.1, 0.2]


def _extra(data):
    data["parameters"]["layers.2.neurons.0.b"] = 0.0


BAD_FILES = [
    ("empty", lambda p: p.write_text(""), ["empty"]),
    ("blank", lambda p: p.write_text("  \n"), ["empty"]),
    ("truncated", lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]), ["not valid JSON", "truncated"]),
    ("binary garbage", lambda p: p.write_bytes(bytes(range(256))), ["not a text file"]),
    ("corrupt", lambda p: p.write_text(p.read_text().replace(":", ";", 3)), ["not valid JSON"]),
    ("foreign JSON list", lambda p: p.write_text("[1, 2, 3]"), ["not an autodiff model file"]),
    ("foreign JSON object", lambda p: p.write_text('{"weights": [1, 2]}'), ["not an autodiff model file"]),
    ("NaN", lambda p: p.write_text(p.read_text().replace('"layers.0.neurons.0.b": 0.0', '"layers.0.neurons.0.b": NaN')),
     ["NaN", "finite"]),
    ("Infinity", lambda p: _edit(p, lambda d: d["parameters"].update({"layers.0.neurons.0.b": "x"})) or p.write_text(
        p.read_text().replace('"x"', "-Infinity")), ["Infinity", "finite"]),
    ("1e999", lambda p: _edit(p, lambda d: d["parameters"].update({"layers.0.neurons.0.b": "x"})) or p.write_text(
        p.read_text().replace('"x"', "1e999")), ["layers.0.neurons.0.b", "inf"]),
    ("a string for a number", lambda p: _edit(p, lambda d: d["parameters"].update({"layers.0.neurons.0.b": "1.0"})),
     ["wrong shape", "layers.0.neurons.0.b", "str"]),
    ("missing key", lambda p: _edit(p, _remove_one), ["wrong architecture", "missing layers.1.neurons.0.b"]),
    ("unexpected key", lambda p: _edit(p, _extra), ["wrong architecture", "unexpected layers.2.neurons.0.b"]),
    ("wrong shape", lambda p: _edit(p, _list_for_a_number), ["wrong shape", "layers.0.neurons.1.w.0", "list of 2"]),
    ("other architecture", lambda p: MLP(2, [4, 2], activation="tanh").save(p), ["wrong architecture", "nouts"]),
    ("other activation", lambda p: MLP(2, [3, 2], activation="relu").save(p), ["wrong architecture", "activation"]),
    ("other module", lambda p: Layer(2, 3).save(p), ["wrong architecture", "Layer"]),
    ("newer version", lambda p: _edit(p, lambda d: d.update(version=99)), ["version 99", "upgrade"]),
    ("no version", lambda p: _edit(p, lambda d: d.pop("version")), ["version"]),
    ("no parameters", lambda p: _edit(p, lambda d: d.pop("parameters")), ["parameters"]),
    ("deeply nested", lambda p: p.write_text("[" * 100000 + "]" * 100000), ["not"]),
]


@pytest.mark.parametrize("name, spoil, words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_naming_the_file_and_the_model_is_untouched(saved, model, name, spoil, words):
    spoil(saved)
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        model.load(saved)
    message = str(info.value)
    assert str(saved) in message
    for w in words:
        assert w in message, (w, message)
    assert model.state_dict() == before
    if name in ("other architecture", "other activation"):  # a good file, for another model
        assert MLP.from_file(saved).config() != model.config()
    else:
        with pytest.raises(ValueError):
            MLP.from_file(saved)


def test_missing_file_is_file_not_found(tmp_path, model):
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "nope.json")


def test_load_state_dict_checks_everything_before_changing_anything(model):
    before = model.state_dict()
    state = dict(before)
    state = {k: v + 1.0 for k, v in state.items()}
    state["layers.1.neurons.1.b"] = float("nan")  # the last one is bad: nothing may change
    with pytest.raises(ValueError, match="layers.1.neurons.1.b"):
        model.load_state_dict(state)
    assert model.state_dict() == before
    with pytest.raises(ValueError, match="dict"):
        model.load_state_dict([1.0, 2.0])
    model.load_state_dict({k: v + 1.0 for k, v in before.items()})
    assert model.state_dict() == {k: v + 1.0 for k, v in before.items()}


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != "model.json")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(monkeypatch, saved, model):
    good = saved.read_bytes()
    other = MLP(2, [3, 2], activation="tanh", seed=9)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        other.save(saved)
    assert saved.read_bytes() == good and _leftovers(saved.parent) == []


def test_a_crash_before_the_rename_keeps_the_old_file(monkeypatch, saved):
    good = saved.read_bytes()

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        MLP(2, [3, 2], activation="tanh", seed=9).save(saved)
    assert saved.read_bytes() == good and _leftovers(saved.parent) == []


def test_non_finite_parameters_are_not_saved(saved, model):
    good = saved.read_bytes()
    model.layers[0].neurons[0].w[0].data = float("inf")
    with pytest.raises(ValueError, match="layers.0.neurons.0.w.0.*inf"):
        model.save(saved)
    assert saved.read_bytes() == good and _leftovers(saved.parent) == []


def test_saving_into_a_missing_folder_is_a_clear_error(tmp_path, model):
    with pytest.raises(FileNotFoundError):
        model.save(tmp_path / "no" / "such" / "model.json")
    assert list(tmp_path.iterdir()) == []


def test_saved_file_has_ordinary_permissions(saved):
    umask = os.umask(0)
    os.umask(umask)
    assert saved.stat().st_mode & 0o777 == 0o666 & ~umask


# ----- files that would cost minutes, and files that are not files ---------------------------------------------------

def _claim(path, nouts):
    data = json.loads(path.read_text())
    data["config"]["nouts"] = nouts
    path.write_text(json.dumps(data))


def test_an_architecture_that_does_not_match_the_parameters_is_refused_before_building(saved, monkeypatch):
    _claim(saved, [3000, 3000, 1])  # 600 bytes that would build 9 million parameters
    built = []
    monkeypatch.setattr(Neuron, "__init__", lambda *a, **k: built.append(1) or (_ for _ in ()).throw(AssertionError))
    with pytest.raises(ValueError) as info:
        MLP.from_file(saved)
    assert str(saved) in str(info.value) and "9015001" in str(info.value) and "17" in str(info.value)
    assert built == []  # refused from the numbers, nothing built


@pytest.mark.parametrize("config", [{"nin": 10 ** 400, "nouts": [1]}, {"nin": 2, "nouts": [2.5]},
                                    {"nin": 2, "nouts": "abc"}, {"nin": -1, "nouts": [1]}, {"nin": 2, "nouts": [True]}],
                         ids=["huge", "float", "str", "negative", "bool"])
def test_a_nonsense_architecture_is_a_value_error_naming_the_file(saved, config):
    data = json.loads(saved.read_text())
    data["config"].update(config)
    saved.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=str(saved)):
        MLP.from_file(saved)


def test_a_parameter_written_as_a_huge_integer_is_a_value_error_naming_the_file(saved, model):
    saved.write_text(saved.read_text().replace('"layers.0.neurons.0.b": 0.0', '"layers.0.neurons.0.b": ' + "9" * 400))
    before = model.state_dict()
    for load in (model.load, MLP.from_file):
        with pytest.raises(ValueError) as info:
            load(saved)
        assert str(saved) in str(info.value) and "layers.0.neurons.0.b" in str(info.value)
    assert model.state_dict() == before


@pytest.mark.parametrize("where", ["/dev/zero", "/dev/null", "folder", "fifo"])
def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path, model, where):
    if where == "folder":
        where = tmp_path
    elif where == "fifo":
        where = tmp_path / "pipe"
        os.mkfifo(where)  # opening it for reading would wait for a writer forever
    elif not os.path.exists(where):
        pytest.skip(f"{where} does not exist here")
    with pytest.raises(ValueError, match="not a regular file"):
        model.load(where)
    with pytest.raises(ValueError, match="not a regular file"):
        MLP.from_file(where)


def test_a_file_larger_than_the_limit_is_refused_without_reading_it(saved, monkeypatch):
    import nn.serialize
    monkeypatch.setattr(nn.serialize, "MAX_BYTES", 100)
    with pytest.raises(ValueError, match="too large"):
        MLP.from_file(saved)


# ----- save() keeps what the user had -------------------------------------------------------------------------------

def test_save_writes_through_a_symlink(tmp_path, model):
    real = tmp_path / "real.json"
    MLP(2, [3, 2], activation="tanh", seed=5).save(real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert MLP.from_file(real).state_dict() == model.state_dict()
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "target.json")
    model.save(dangling)  # a link to a file not there yet: the file is made where the link points
    assert dangling.is_symlink() and MLP.from_file(tmp_path / "target.json").state_dict() == model.state_dict()


def test_save_keeps_the_permissions_of_the_file_it_replaces(saved, model):
    os.chmod(saved, 0o600)
    model.save(saved)
    assert saved.stat().st_mode & 0o777 == 0o600
    os.chmod(saved, 0o640)
    model.save(saved)
    assert saved.stat().st_mode & 0o777 == 0o640


def test_numpy_numbers_in_parameters_are_saved_as_numbers(tmp_path, model):
    np = pytest.importorskip("numpy")
    model.layers[0].neurons[0].w[0].data = np.float32(0.25)
    model.layers[0].neurons[0].b.data = np.float64(-0.5)
    model.save(tmp_path / "m.json")
    loaded = MLP.from_file(tmp_path / "m.json")
    assert loaded.layers[0].neurons[0].w[0].data == 0.25 and loaded.layers[0].neurons[0].b.data == -0.5
    model.layers[0].neurons[0].w[0].data = "a"
    with pytest.raises(ValueError, match="layers.0.neurons.0.w.0.*str"):
        model.save(tmp_path / "m.json")


def test_saving_into_a_missing_folder_names_the_users_path(tmp_path, model):
    target = tmp_path / "no" / "model.json"
    with pytest.raises(FileNotFoundError) as info:
        model.save(target)
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)
    assert "folder" in str(info.value)


KILLED_WRITER = """
import sys
sys.path.insert(0, {root!r})
from nn import MLP
model = MLP(4, [64, 64, 1], seed=1)
print("ready", flush=True)
while True:
    model.save({path!r})
"""


def test_a_killed_save_leaves_no_temporary_file_and_a_whole_model(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    root = str(Path(__file__).resolve().parent.parent)
    path = tmp_path / "model.json"
    rng = random.Random(0)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER.format(root=root, path=str(path))],
                                stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(rng.choice([signal.SIGKILL, signal.SIGTERM]))
        proc.wait()
        proc.stdout.close()
        if path.exists():
            MLP.from_file(path)  # whole: the old file or the new one
        MLP(4, [64, 64, 1], seed=2).save(path)  # the next save cleans up after a killed one
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_the_unnamed_temporary_file_path_writes_whole_files_or_gives_way(tmp_path, monkeypatch):
    from autodiff import files
    monkeypatch.setattr(files, "_unnamed_works", True)
    target = tmp_path / "m.json"
    if files._write_unnamed(tmp_path, tmp_path / ".probe.tmp", b"probe", 0o600):
        assert (tmp_path / ".probe.tmp").read_bytes() == b"probe"
        assert (tmp_path / ".probe.tmp").stat().st_mode & 0o777 == 0o600
        (tmp_path / ".probe.tmp").unlink()
    else:  # no O_TMPFILE link here (a sandbox without /proc links): remembered, and named temporaries take over
        assert files._unnamed_works is False and list(tmp_path.iterdir()) == []
    files.atomic_write(target, b"whole")
    assert target.read_bytes() == b"whole" and [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_saving_onto_a_folder_names_the_folder(tmp_path, model):
    (tmp_path / "m.json").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        model.save(tmp_path / "m.json")
    assert str(tmp_path / "m.json") in str(info.value) and ".tmp" not in str(info.value)


def test_cleaning_up_after_a_killed_writer_touches_only_this_files_temporaries(tmp_path):
    from autodiff.files import atomic_write
    other = tmp_path / ".ckpt.77777.1234.0123456789ab.tmp"  # ckpt.77777's temporary, of a live writer (this test)
    other = other.with_name(f".ckpt.77777.{os.getpid()}.0123456789ab.tmp")
    other.write_bytes(b"half")
    dead = tmp_path / ".ckpt.999999999.0123456789ab.tmp"  # ckpt's, of a writer that is gone
    dead.write_bytes(b"half")
    odd = tmp_path / ".ckpt.[1].tmp"  # not a name we make
    odd.write_bytes(b"x")
    atomic_write(tmp_path / "ckpt", b"whole")
    assert other.exists() and odd.exists() and not dead.exists()


def test_load_without_a_path_and_a_huge_integer_parameter_are_clear_errors(tmp_path, model):
    with pytest.raises(TypeError, match="path"):
        model.load()
    model.layers[0].neurons[0].b.data = 10 ** 400
    with pytest.raises(ValueError, match="layers.0.neurons.0.b.*too large"):
        model.save(tmp_path / "m.json")
