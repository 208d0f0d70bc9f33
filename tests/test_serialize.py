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
    also = MLP.load(saved)  # on the class, load builds a new model
    assert isinstance(also, MLP) and also.state_dict() == model.state_dict()


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
