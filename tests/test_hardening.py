"""The defects an adversary and a new user's tour found, each closed by a test named after what it guards."""
import math
import os
import re
import socket
import stat
import tempfile

import pytest

from nn import MLP


# ----- 1. save() never replaces what is not a regular file ----------------------------------------------------------

def _not_files(folder):
    """A FIFO, a character device (as root), a socket and a symlink to the FIFO, made in folder."""
    made = {}
    os.mkfifo(folder / "fifo")
    made["a pipe (FIFO)"] = folder / "fifo"
    try:
        os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
        made["a character device"] = folder / "null"
    except PermissionError:
        pass  # not root: the FIFO and the socket stand for it
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock"))
    made["a socket"] = folder / "sock"
    (folder / "link").symlink_to(folder / "fifo")
    made["a pipe (FIFO), not a regular file"] = folder / "link"
    return made, server


def test_save_refuses_devices_pipes_and_sockets_naming_the_path():
    from autodiff.files import atomic_write
    folder = tempfile.mkdtemp(dir="/tmp")  # short: a socket's path has at most 107 bytes
    from pathlib import Path
    folder = Path(folder)
    made, server = _not_files(folder)
    try:
        for kind, path in made.items():
            before = os.lstat(path)
            with pytest.raises(ValueError, match=re.escape(f"cannot write {path}: {kind}")):
                MLP(2, [1], seed=0).save(path)
            with pytest.raises(ValueError, match="not a regular file"):
                atomic_write(path, b"x")
            after = os.lstat(path)
            assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)  # untouched
        assert sorted(p.name for p in folder.iterdir()) == sorted(["fifo", "sock", "link"] +
                                                                   (["null"] if "a character device" in made else []))
    finally:
        server.close()
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


# ----- 10. long file names ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [230, 244, 255])
def test_a_legal_long_file_name_is_saved_and_replaced(tmp_path, length):
    from autodiff.files import atomic_write
    model = MLP(2, [2, 1], seed=0)
    path = tmp_path / ("m" * (length - 5) + ".json")
    model.save(path)
    assert MLP.from_file(path).state_dict() == model.state_dict()
    model.save(path)  # replacing it too
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    wide = tmp_path / ("é" * 120 + ".bin")  # 245 bytes in UTF-8
    atomic_write(wide, b"whole")
    assert wide.read_bytes() == b"whole"


def test_an_error_while_writing_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / ("m" * 250 + ".json")

    def fail(src, dst):
        raise OSError(28, "No space left on device", str(src))
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError) as info:
        MLP(2, [1], seed=0).save(path)
    assert str(path) in str(info.value) and ".tmp" not in str(info.value) and info.value.errno == 28
    assert list(tmp_path.iterdir()) == []  # no temporary file left


# ----- 12. the truth of a Value, and pow with a modulo ----------------------------------------------------------

def test_the_truth_of_a_value_is_refused_like_a_comparison():
    from autodiff import Value
    for v in (Value(0.0), Value(2.0)):
        with pytest.raises(TypeError, match=r"v\.data"):
            bool(v)
        with pytest.raises(TypeError, match="ambiguous"):
            if v:
                pass
    x = Value(0.5)
    loss = (x * x).tanh() + abs(x) + x.relu()  # the engine's own code never takes a Value's truth
    loss.backward()
    assert x.grad == pytest.approx(2 * 0.5 * (1 - math.tanh(0.25) ** 2) + 2)


def test_pow_with_a_modulo_says_what_is_wrong():
    from autodiff import Value
    with pytest.raises(TypeError, match=r"pow\(\) with a modulo .*pow\(v.data, y, m\)"):
        pow(Value(3.0), 2, 3)
    assert pow(Value(3.0), 2).data == 9.0


# ----- 4. optimizers and a grad of None ------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda ps: __import__("nn").SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda ps: __import__("nn").Adam(ps, lr=0.1, weight_decay=0.1),
], ids=["SGD", "Adam"])
def test_an_optimizer_skips_a_parameter_with_no_grad_as_pytorch_does(make):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install -e '.[test]'")
    from autodiff import Value
    ours = [Value(0.5), Value(-1.5), Value(2.0)]
    theirs = [torch.tensor(v.data, dtype=torch.float64, requires_grad=True) for v in ours]
    opt = make(ours)
    topt = getattr(torch.optim, type(opt).__name__)(theirs, **{k: v for k, v in vars(opt).items()
                                                                if not k.startswith("_") and k != "params"})
    for step in range(4):
        opt.zero_grad()
        topt.zero_grad(set_to_none=True)
        used = [0, 1] if step % 2 else [0]  # parameter 1 only on odd steps, parameter 2 never
        loss = sum((ours[i] * ours[i] * (i + 1) for i in used), Value(0.0))
        tloss = sum(theirs[i] * theirs[i] * (i + 1) for i in used)
        for i in set(range(3)) - set(used):
            ours[i].grad = None
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        assert [v.data for v in ours] == pytest.approx([t.item() for t in theirs], rel=1e-12)
    assert ours[2].data == 2.0  # never had a grad: no decay either


# ----- 7. threads: zeroing and stepping wait for a pass -----------------------------------------------------------

def test_zero_grad_during_another_threads_backward_waits_for_it():
    import threading
    import time

    import nn
    from autodiff import Value, primitive
    inside, release = threading.Event(), threading.Event()

    def slow_derivative(x):
        inside.set()
        release.wait(5)
        return 13.0

    slow = primitive(slow_derivative, name="slow")(lambda x: 13.0 * x)
    for zero in ("module", "optimizer", "step"):
        inside.clear(), release.clear()
        p = Value(1.0)
        p.grad = 5.0
        opt = nn.SGD([p], lr=1.0)

        class One(nn.Module):
            def parameters(self, p=p):
                return [p]
        loss = slow(p)
        worker = threading.Thread(target=loss.backward)
        worker.start()
        assert inside.wait(5)
        other = threading.Thread(target={"module": One().zero_grad, "optimizer": opt.zero_grad,
                                         "step": opt.step}[zero])
        other.start()
        time.sleep(0.1)  # the other thread is inside zero_grad() (or step()) now, or waiting to be
        release.set()
        worker.join(5), other.join(5)
        if zero == "step":
            assert p.grad == 18.0 and p.data == 1.0 - 18.0  # the step saw the whole pass's grad
        else:
            assert p.grad == 0.0  # the pass, then the zeroing: never a mix of the two (8.0)


# ----- 2. numbers that are not floats in .data ------------------------------------------------------------------------

def test_every_grad_the_engine_writes_is_a_float_whatever_real_number_data_holds():
    np = pytest.importorskip("numpy")
    import nn
    from autodiff import Value
    for data in (np.float32(0.1), np.float64(0.5), np.int64(4), 3, np.float16(-1.5)):
        p, q = Value(1.0), Value(1.0)
        p.data, q.data = data, float(data)
        y, ref = (p * p + p).tanh() * p.exp(), (q * q + q).tanh() * q.exp()
        assert type(y.data) is float and y.data == ref.data  # computed on the number's float
        y.backward()
        ref.backward()
        assert type(p.grad) is float and p.grad == q.grad
        assert type(p.data) is float and p.data == float(data)  # taken as its float: the same number
        y.backward()  # and the next pass takes the grad the engine made
        assert type(p.grad) is float
    model = nn.MLP(2, [3, 1], seed=0)  # an nn model with an L2 penalty, two steps
    opt = nn.SGD(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.data = np.float32(p.data)
    for _ in range(2):
        opt.zero_grad()
        loss = model([0.5, -1.0])[0] ** 2 + 1e-2 * sum(p * p for p in model.parameters())
        loss.backward()
        opt.step()
    assert all(type(p.grad) is float for p in model.parameters())
    p = Value(1.0)
    p.grad = np.float32(2.0)  # a grad set by hand to a numpy number: taken as its float
    (p * 3).backward()
    assert p.grad == 5.0 and type(p.grad) is float


@pytest.mark.parametrize("data", [True, False, 1 + 2j])
def test_a_bool_or_complex_data_is_refused_naming_the_value(data):
    from autodiff import Value
    p = Value(1.0, label="weight")
    p.data = data
    with pytest.raises(TypeError, match=r"weight.*(bool|complex).*not a real number|is a complex, not a real"):
        (p * 2.0).backward()
    assert p.grad == 0.0  # nothing written


# ----- 3. a .data changed between the forward pass and backward() ---------------------------------------------------

def test_detect_anomaly_names_the_value_whose_data_changed_after_the_forward_pass():
    import autodiff
    from autodiff import Value
    x = Value(0.5, label="x")
    y = (x * x).tanh()
    x.data = 2.0
    with pytest.raises(RuntimeError, match=r"label='x'.*Build the graph again"):
        with autodiff.detect_anomaly():
            y.backward()
    assert x.grad == 0.0  # nothing written
    y = (x * x).tanh()  # built again: fine
    with autodiff.detect_anomaly():
        y.backward()
    assert x.grad == pytest.approx(4 * (1 - math.tanh(4.0) ** 2))
    h = x * 3.0  # an op node's own .data set by hand
    z = h.exp()
    h.data = 1.0
    with autodiff.detect_anomaly(), pytest.raises(RuntimeError, match="holds 1.0, but its inputs"):
        z.backward()


def test_detect_anomaly_passes_every_unchanged_graph_and_optimizer_steps():
    import random

    import autodiff
    import nn
    from autodiff import Value, primitive
    cube = primitive(lambda x: 3 * x * x, name="cube")(lambda x: x ** 3)
    rng, checked = random.Random(7), 0
    steps = [lambda a, b: a * b, lambda a, b: a + b, lambda a, b: a.tanh(), lambda a, b: a.relu(),
             lambda a, b: abs(a) - b, lambda a, b: a.sigmoid(), lambda a, b: cube(a.tanh()),
             lambda a, b: a.leaky_relu(0.1), lambda a, b: (a.tanh() + 2.0).log()]
    for _ in range(200):  # random graphs with shared nodes, kinks, -0.0, nan-free extremes and a primitive
        xs = [Value(rng.choice([0.0, -0.0, 1e-300, -1e300, rng.uniform(-3, 3)])) for _ in range(3)]
        nodes = list(xs)
        try:
            for _ in range(12):
                a, b = rng.choice(nodes), rng.choice(nodes)
                nodes.append(rng.choice(steps)(a, b))
        except autodiff.RangeError:  # an overflow of the random graph itself
            continue
        with autodiff.detect_anomaly():
            try:
                nodes[-1].backward()
            except autodiff.RangeError:  # a derivative that overflows: the engine's refusal, not an anomaly
                pass
        checked += 1
    assert checked > 100
    model = nn.MLP(2, [4, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.1)
    with autodiff.detect_anomaly():
        for _ in range(3):
            opt.zero_grad()
            loss = model([0.5, -1.0])[0] ** 2
            loss.backward()
            opt.step()  # changes .data after backward(): the next pass builds a new graph


def test_detect_anomaly_is_off_outside_its_block_and_per_thread():
    import threading

    import autodiff
    from autodiff import Value
    x = Value(0.5)
    y = x * x
    x.data = 2.0
    y.backward()  # outside the block: not checked (documented)
    seen = []
    with autodiff.detect_anomaly():
        t = threading.Thread(target=lambda: seen.append(autodiff.anomaly.checking.get()))
        t.start(), t.join()
    assert seen == [False]


# ----- 5. copies and pickles of deep graphs and of models ----------------------------------------------------------

def _chain(depth):
    """A chain of `depth` ops: x, x * 1.0001, tanh(that), ..."""
    from autodiff import Value
    x = Value(0.5, label="x")
    y = x
    for _ in range(depth // 2):
        y = (y * 1.0001).tanh()
    return x, y


@pytest.mark.slow
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_100000_deep_chain_copies_and_pickles_and_round_trips_equal(how):
    import copy
    import pickle
    import sys

    from autodiff.engine import topological_order
    assert sys.getrecursionlimit() <= 10000  # no help from a raised limit
    x, y = _chain(100_000)
    y.backward()
    z = copy.deepcopy(y) if how == "deepcopy" else pickle.loads(pickle.dumps(y))
    order, ours = topological_order(z), topological_order(y)
    assert len(order) == len(ours)
    assert [(n.data, n.grad, n.op, n.label) for n in order[::997]] == [(n.data, n.grad, n.op, n.label)
                                                                         for n in ours[::997]]
    new_x = order[0]
    assert new_x.label == "x" and new_x is not x
    new_x.grad = 0.0
    z.backward()
    assert new_x.grad == x.grad  # the copy is a graph of its own, and gives the same gradient


def test_copies_keep_shared_nodes_shared_and_constants_and_ops_the_same():
    import copy
    import pickle

    from autodiff import Value, grad_computed
    a = Value(1.5, label="a")
    b = a * a
    c = b + b * 2.0
    for copied in (copy.deepcopy([a, b, c]), pickle.loads(pickle.dumps([a, b, c]))):
        a2, b2, c2 = copied
        assert c2._x is b2 and c2._y._x is b2 and b2._x is a2 and b2._y is a2
        assert c2._y._y is c._y._y and c2.grad_fn is c.grad_fn  # the shared Constant 2.0, the table's op
        assert not grad_computed(c2) and c2.data == c.data
    c2 = copy.copy(c)
    assert c2._x is b and c2.data == c.data and c2 is not c


def test_every_nn_model_pickles_and_copies():
    import copy
    import pickle

    import nn
    from autodiff import Value
    from nn.module import ACTIVATIONS
    for activation in ACTIVATIONS:
        for model in (nn.Neuron(3, activation=activation), nn.Layer(3, 2, activation=activation),
                      nn.MLP(3, [4, 2], activation=activation, seed=1)):
            x = [0.5, -1.0, 2.0]
            out = model(x)
            for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
                assert type(other) is type(model) and other.state_dict() == model.state_dict()
                got = other(x)
                got, out_ = (got, out) if isinstance(got, list) else ([got], [out])
                assert [v.data for v in got] == [v.data for v in out_]
                assert all(p is not q for p, q in zip(other.parameters(), model.parameters()))
    assert isinstance(pickle.loads(pickle.dumps(Value(2.0) * 3)), Value)


# ----- 6. the power rule where x ** (y - 1) overflows ---------------------------------------------------------------

POWER_CASES = [(1e-310, 1e-10, False), (1e-306, -0.01, False), (5e-324, 5e-324, True), (1e-300, 0.5, False),
               (4e-320, 1e-12, False), (0.0, 2.0, False), (0.0, 1.0, False), (3.0, 2.5, True)]


@pytest.mark.parametrize("x, y, value_exponent", POWER_CASES)
def test_the_power_rule_gives_finite_derivatives_where_its_formula_overflows(x, y, value_exponent):
    mpmath = pytest.importorskip("mpmath")
    np = pytest.importorskip("numpy")
    import autodiff
    from autodiff import Value
    mpmath.mp.dps = 60
    exact = mpmath.mpf(y) * mpmath.power(mpmath.mpf(x), mpmath.mpf(y) - 1) if y != 1 else mpmath.mpf(1)
    a = Value(x)
    out = a ** (Value(y) if value_exponent else y)
    out.backward()
    assert a.grad == pytest.approx(float(exact), rel=1e-12, abs=0.0)
    p = autodiff.Parameter(x)
    step = autodiff.compile(lambda: p ** (Value(y) if value_exponent else y) * 1.0, [p])
    assert step() == out.data and p.grad == a.grad  # the compiled step agrees, bit for bit
    q = autodiff.Parameter(y)
    batched = autodiff.compile(lambda t: t ** q, [q], batch=True) if value_exponent else None
    if batched is None:
        batched = autodiff.compile(lambda t: (t * p) ** y, [p], batch=True)
        p.data = 1.0
        losses, grads = batched.per_sample(np.array([x, 1.0]))
        assert grads[0, 0] == pytest.approx(x * a.grad, rel=1e-12)  # d/dp (t p) ** y at p = 1 is t * y t ** (y - 1)
    else:
        losses, grads = batched.per_sample(np.array([x, 2.0]))
        assert losses[0] == out.data


def test_a_truly_infinite_power_derivative_is_still_refused():
    from autodiff import DomainError, RangeError, Value
    out = Value(0.0) ** 0.5  # d/dx = 0.5 / sqrt(x): infinite at 0
    with pytest.raises((RangeError, DomainError), match=r"\*\*\(0.0, 0.5\)"):
        out.backward()
    out = Value(1e-300) ** 0.25  # 0.25 * 1e-300 ** -0.75 = 2.5e224: finite, no rescue needed
    out.backward()
    with pytest.raises(RangeError, match="overflows"):  # 0.5 * (5e-324) ** -1.5: beyond a float
        (Value(5e-324) ** -0.5).backward()


# ----- 8. explain() is linear in depth --------------------------------------------------------------------------------

@pytest.mark.slow
def test_explain_of_a_100000_deep_chain_is_linear():
    from autodiff import Value, explain
    x = Value(0.5, label="x")
    y = x
    for _ in range(100_000):  # quadratic, this took minutes; linear, about a second
        y = y * 1.00001
    e = explain(y, x)
    assert len(e.paths) == 1 and len(e.paths[0].nodes) == 100_001 and e.paths[0].nodes[0] is x
    text = str(e)
    assert text.count("×") == 100_000 - 1 and text.endswith(f"= {1.00001 ** 100_000:.4g}")


# ----- 9. labels that Graphviz would refuse ----------------------------------------------------------------------

def test_labels_with_control_characters_or_over_16384_characters_are_drawn(tmp_path):
    import shutil
    pytest.importorskip("graphviz", reason="pictures need the graphviz package: pip install -e '.[draw]'")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    import html

    import autodiff
    from autodiff import Value
    from autodiff.dot import LONGEST
    long = "L" * 20_000 + ' "quoted" {record} <tag> \\ end'
    a, b = Value(1.0, label="nul\x00here\x1b[31m"), Value(2.0, label=long)
    c = a * b
    c.label = "tab\there"
    c.backward()
    svg = autodiff.save_svg(c, tmp_path / "g.svg").read_text()
    text = html.unescape(svg)
    assert "nul\\x00here\\x1b[31m" in text and "tab\\there" in text  # control characters shown as escapes
    assert "L" * (LONGEST - 1) + "…" in text and "L" * LONGEST + "…" not in text  # shortened in its box
    assert long in text  # whole in the tooltip
    page = autodiff.animate(c, tmp_path / "g.html").read_text()
    assert "…" in page
    assert "\x00" not in svg


# ----- 11. one non-finite policy for the compiled, batched and re-run paths ------------------------------------------

@pytest.mark.parametrize("x0", [-800.0, -math.inf, -1e308])
def test_a_derivative_no_parameter_needs_is_never_computed_on_any_replay_path(x0):
    np = pytest.importorskip("numpy")
    import autodiff
    from autodiff import DomainError, Parameter, Value
    w = Parameter(1.5)
    fn = lambda t: t.exp().sqrt() * w + w * w  # noqa: E731  (sqrt'(0) is infinite, but only the data's grad needs it)
    batched = autodiff.compile(fn, [w], batch=True)
    losses, grads = batched.per_sample(np.array([x0, 1.0]))
    assert losses[0] == 1.5 * 1.5 and grads[0, 0] == 3.0
    assert grads[1, 0] == pytest.approx(math.exp(0.5) + 3.0, rel=1e-15)
    step = autodiff.compile(fn, [w])
    w.grad = 0.0
    assert step(x0) == 1.5 * 1.5 and w.grad == 3.0
    x = Value(x0)
    with pytest.raises(DomainError, match=r"sqrt\(0.0\)"):  # backward() gives the data a grad too: refused
        fn(x).backward()


# ----- 13. gradcheck's hints -------------------------------------------------------------------------------------

def test_gradcheck_says_when_its_probe_left_the_domain_and_when_the_point_is_a_kink():
    import autodiff
    from autodiff import DomainError, GradcheckError
    with pytest.raises(DomainError, match=r"probes input 0 at 1e-07 - eps = -9e-07 .*log\(-9e-07\) is undefined.*"
                                          r"smaller eps \(eps=1e-08\)"):
        autodiff.gradcheck(lambda a: a.log(), [1e-7])
    assert autodiff.gradcheck(lambda a: a.log(), [1e-7], eps=1e-9, rtol=1e-2)  # as the hint says
    for f in (lambda a: a.relu(), lambda a: abs(a) + a.relu(), lambda a, b: (a * b).leaky_relu(0.1)):
        point = [0.0] if f.__code__.co_argcount == 1 else [0.0, 2.0]
        with pytest.raises(GradcheckError, match=r"one-sided differences disagree, [-\d.e]+ from the left and "
                                                 r"[-\d.e]+ from the right: f has a kink here"):
            autodiff.gradcheck(f, point)
    with pytest.raises(GradcheckError) as info:  # a wrong derivative away from any kink: no kink hint
        autodiff.gradcheck(autodiff.primitive(lambda x: 2.0)(lambda x: x * x * x), [1.0])
    assert "kink" not in str(info.value)


# ----- 14. primitive's messages --------------------------------------------------------------------------------------

def test_a_primitive_derivative_written_with_value_methods_says_to_use_the_functions():
    import autodiff
    from autodiff import Value, primitive
    bad = primitive(lambda x: x.cos(), name="my_sin")(lambda x: autodiff.sin(x))
    with pytest.raises(TypeError, match=r"primitive my_sin: derivative 0 .*'float' object has no attribute 'cos'.*"
                                        r"autodiff.cos\(x\)"):
        bad(Value(1.0)).backward()
    good = primitive(lambda x: autodiff.cos(x), name="my_sin")(lambda x: autodiff.sin(x))
    assert autodiff.grad(autodiff.grad(good))(1.0) == pytest.approx(-math.sin(1.0))  # floats and Values alike


def test_a_derivative_function_of_the_wrong_arity_is_refused_when_the_primitive_is_defined():
    from autodiff import primitive
    with pytest.raises(TypeError, match=r"primitive mul3: derivative 1 takes 1 argument\(s\), but a derivative "
                                        r"function is given all 2 input\(s\)"):
        primitive(lambda x, y: 3 * y, lambda y: 3 * y, name="mul3")(lambda x, y: 3 * x * y)
    with pytest.raises(TypeError, match="takes 2 input"):
        primitive(lambda x: 1.0)(lambda x, y: x + y)
    ok = primitive(lambda x, y=0.0: 1.0, lambda *a: 1.0)(lambda x, y: x + y)  # defaults and *args are fine
    assert ok(1.0, 2.0) == 3.0


# ----- 15. argnums as in JAX ------------------------------------------------------------------------------------

def test_argnums_of_grad_hessian_and_jacobian_follow_jax():
    from autodiff import grad, hessian, jacobian, value_and_grad
    f = lambda x, y: x * x * y  # noqa: E731
    assert hessian(f)(1.0, 2.0) == 4.0  # JAX: argnums=0 by default, a number for a number
    assert hessian(f, argnums=1)(1.0, 2.0) == 0.0
    assert hessian(f, argnums=(0, 1))(1.0, 2.0) == ((4.0, 2.0), (2.0, 0.0))  # a tuple of tuples
    assert hessian(lambda p: p[0] ** 2 * p[1], argnums=0)([1.0, 2.0]) == [[4.0, 2.0], [2.0, 0.0]]  # the issue's
    assert hessian(lambda p, s: p["a"] ** 2 * s, argnums=(0, 1))({"a": 1.0}, 3.0) == (
        {"a": ({"a": 6.0}, 2.0)}, ({"a": 2.0}, 0.0))  # H[i]: args[i]'s structure holding a tuple over j (as JAX)
    assert grad(f)(1.0, 2.0) == 4.0 and grad(f, argnums=(1,))(1.0, 2.0) == (1.0,)
    assert value_and_grad(f, argnums=(0, 1))(1.0, 2.0) == (2.0, (4.0, 1.0))
    assert jacobian(f)(1.0, 2.0) == 4.0
    assert jacobian(lambda x, y: [x * y, x + y])(2.0, 3.0) == [3.0, 1.0]
    assert jacobian(lambda x, y: [x * y, x + y], argnums=(0, 1))(2.0, 3.0) == [(3.0, 2.0), (1.0, 1.0)]
    assert jacobian(lambda p: (p[0] * p[1], p[0]), mode="fwd")([2.0, 3.0]) == ([3.0, 2.0], [1.0, 0.0])


def test_argnums_agree_with_torch_func_on_a_container_argument():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install -e '.[test]'")
    from autodiff import hessian, jacobian
    ours = hessian(lambda p, s: (p[0] * p[1]).sin() * s, argnums=(0, 1))([0.3, -0.7], 2.0)
    theirs = torch.func.hessian(lambda p, s: torch.sin(p[0] * p[1]) * s, argnums=(0, 1))(
        torch.tensor([0.3, -0.7], dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64))
    assert isinstance(ours[0], list) and all(isinstance(entry, tuple) for entry in ours[0])  # JAX's nesting
    for k in range(2):  # ours[0][k] = (d/dp, d/ds) of df/dp[k]; torch stacks the same numbers as tensors
        assert ours[0][k][0] == pytest.approx(theirs[0][0][k].tolist(), rel=1e-12)
        assert ours[0][k][1] == pytest.approx(theirs[0][1][k].item(), rel=1e-12)
    assert ours[1][0] == pytest.approx(theirs[1][0].tolist(), rel=1e-12)
    assert ours[1][1] == pytest.approx(theirs[1][1].item(), rel=1e-12)
    j = jacobian(lambda p: [p[0] * p[1], p[0].exp()])([0.3, -0.7])
    tj = torch.func.jacrev(lambda p: torch.stack([p[0] * p[1], torch.exp(p[0])]))(
        torch.tensor([0.3, -0.7], dtype=torch.float64))
    for row, trow in zip(j, tj.tolist()):
        assert row == pytest.approx(trow, rel=1e-12)


# ----- 16. compile's data may be arrays ---------------------------------------------------------------------------

def test_the_compiled_step_takes_numpy_arrays_and_tensors_as_data():
    np = pytest.importorskip("numpy")
    import autodiff
    import nn
    model = nn.MLP(2, [3, 1], seed=0)
    step = autodiff.compile(lambda X, y: nn.mse_loss([model(x)[0] for x in X], y), model)
    X, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    expected = step(X.tolist(), y.tolist())
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    assert step(X, y) == expected and [p.grad for p in model.parameters()] == grads
    assert step([X[0], X[1]], y.astype(np.float32).astype(np.float64)) == expected  # arrays inside lists too
    assert repr(step).endswith("1 program(s)>")  # arrays and lists of the same shape share the program
    functional = autodiff.compile(lambda p, x: p[0] * x[0] + p[1] * x[1])
    assert functional(np.array([2.0, 3.0]), np.array([1.0, 10.0])) == (32.0, [1.0, 10.0])
    with pytest.raises(TypeError, match="expected a number, an array or a"):
        step("not data", y)


# ----- after an adversarial review of the fixes above ---------------------------------------------------------------

def test_pickling_or_copying_every_node_of_a_chain_walks_each_node_about_once(monkeypatch):
    import copy
    import pickle

    from autodiff import Value, copies
    walked = []
    real = copies._ancestors
    monkeypatch.setattr(copies, "_ancestors", lambda root, done: walked.append(len(out := real(root, done))) or out)
    x = Value(0.5)
    nodes = [x]
    for _ in range(3000):
        nodes.append(nodes[-1].tanh())
    for how in (pickle.dumps, copy.deepcopy, lambda n: pickle.dumps(n[::-1])):
        walked.clear()
        how(nodes)
        assert sum(walked) <= 2 * len(nodes)  # was len(nodes) ** 2 / 2
    back = pickle.loads(pickle.dumps(nodes))
    assert all(back[i + 1]._x is back[i] for i in range(3000))


def test_a_pickle_after_another_or_after_a_failed_one_still_takes_a_deep_graph():
    import pickle

    from autodiff import Parameter, primitive
    x = Parameter(0.5)
    u = x
    for i in range(20_000):
        u = u * 0.999 + x if i % 3 else u.tanh()
    v = u * 2.0
    pickle.dumps([u, v])
    assert pickle.loads(pickle.dumps(u)).data == u.data  # u was written by the pickle before
    local = primitive(lambda a: 1.0)(lambda a: a)  # defined here: it cannot be pickled
    with pytest.raises((AttributeError, pickle.PicklingError, TypeError)):
        pickle.dumps(local(x) + u)
    assert pickle.loads(pickle.dumps(u)).data == u.data


def test_compiles_eager_rerun_never_computes_a_derivative_no_parameter_needs():
    import autodiff
    step = autodiff.compile(lambda p, x, y: x ** p[0] + p[0] * y)
    assert step([0.5], 0.0, 1.0) == (0.5, [1.0])
    assert step([0.5], 0.0, math.inf) == (math.inf, [math.inf])  # the rerun, as the program: no d/dx at x = 0


def test_detect_anomaly_sees_a_change_that_keeps_the_result_and_trusts_non_float_primitives():
    import autodiff
    from autodiff import Value, primitive
    with autodiff.detect_anomaly():
        a, b = Value(1.0, label="a"), Value(0.0)
        y = a * b  # 0.0 whatever a is: only the numbers noted when it was made show the change
        a.data = 2.0
        with pytest.raises(RuntimeError, match=r"its input Value\(data=2.0.*label='a'\) was 1.0 when it was made"):
            y.backward()
    twice = primitive(lambda x: 2.0)(lambda x: int(2 * x))  # a forward that returns an int: taken as its float
    y = twice(Value(1.5))
    with autodiff.detect_anomaly():
        y.backward()
        twice(Value(1.5)).backward()
    assert y.parents[0].grad == 2.0


def test_optimizers_match_torch_in_the_usual_loop_with_zero_grad():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install -e '.[test]'")
    import nn
    from autodiff import Value
    for make, tmake in ((lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.3),
                         lambda ts: torch.optim.SGD(ts, lr=0.1, momentum=0.9, weight_decay=0.3)),
                        (lambda ps: nn.Adam(ps, lr=0.01, weight_decay=0.1),
                         lambda ts: torch.optim.Adam(ts, lr=0.01, weight_decay=0.1))):
        ours = [Value(0.5), Value(-1.5), Value(2.0)]
        theirs = [torch.tensor(v.data, dtype=torch.float64, requires_grad=True) for v in ours]
        opt, topt = make(ours), tmake(theirs)
        for step in range(6):
            opt.zero_grad()  # as PyTorch's, grads back to none: a parameter this step does not reach is left alone
            topt.zero_grad()
            used = [0, 1] if step % 3 else [0]
            sum((ours[i] * ours[i] * (i + 1) for i in used), Value(0.0)).backward()
            sum(theirs[i] * theirs[i] * (i + 1) for i in used).backward()
            opt.step()
            topt.step()
            assert [v.data for v in ours] == pytest.approx([t.item() for t in theirs], rel=1e-12)
    model = nn.MLP(2, [2, 1], seed=0)
    model([1.0, 2.0])[0].backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad == 0.0 and type(p.grad) is float for p in model.parameters())


def test_gradchecks_hints_cover_second_order_probes_and_are_not_given_for_smooth_steep_functions():
    import autodiff
    from autodiff import DomainError, GradcheckError
    with pytest.raises(DomainError, match="probes input 0 at 1e-06"):  # a second-order probe left sqrt's domain
        autodiff.gradcheck(lambda x: x.sqrt() ** 3, [1e-6], order=2)
    for f, point, order in ((lambda x: x ** 1.5, [1e-6], 2), (lambda x: 1 / x, [5e-7], 1)):
        with pytest.raises(GradcheckError) as info:  # steep or across a pole: a mismatch, but no kink
            autodiff.gradcheck(f, point, order=order)
        assert "kink" not in str(info.value)


def test_a_primitive_forward_with_a_default_and_one_that_calls_a_value_method():
    from autodiff import Value, primitive
    scaled = primitive(lambda x: 2.0)(lambda x, k=2.0: x * k)  # one input; k keeps its default
    assert scaled(Value(3.0)).data == 6.0
    bad = primitive(lambda x: 1.0, name="my_cos")(lambda x: x.cos())
    with pytest.raises(TypeError, match=r"my_cos\(1.0\): its forward failed with AttributeError.*math.cos\(x\)"):
        bad(Value(1.0))


def test_writing_through_dev_stdout_or_beside_a_folder_named_like_a_temporary(tmp_path):
    import os

    from autodiff.files import atomic_write
    if os.path.exists("/dev/stdout") and not os.path.isfile("/dev/stdout"):
        with pytest.raises(ValueError, match="cannot write /dev/stdout: a "):
            atomic_write("/dev/stdout", b"x")
    (tmp_path / ".model.json.999999.abcdefabcdef.tmp").mkdir()  # not ours: left alone
    atomic_write(tmp_path / "model.json", b"whole")
    assert (tmp_path / "model.json").read_bytes() == b"whole"


def test_tooltips_keep_every_backslash_and_labels_cannot_inject_dot(tmp_path):
    import html
    import re
    import shutil
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    import autodiff
    from autodiff import Value
    x, z = Value(1.0, label="a=autodifflong0"), Value(2.0, label="Z" * 100)
    autodiff.save_svg(x * z, tmp_path / "injected.svg")  # a label that looks like the placeholder stays text
    for label in ("\\\\" * 300, "\\\\\\\\server\\\\share" + "x" * 80, 'a\\\\b"q"' + "y" * 90 + "\\\\"):
        svg = autodiff.save_svg(Value(1.0, label=label) * 2, tmp_path / "b.svg").read_text()
        assert label in [html.unescape(t) for t in re.findall(r'xlink:title="([^"]*)"', svg)]
