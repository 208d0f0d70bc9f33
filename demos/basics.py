"""A five-minute tour of the engine: an expression, backward(), higher derivatives, a new op, gradcheck.

Run it with:  .venv/bin/python demos/basics.py        (after the README's quick start made .venv/)
"""
import argparse
import math
import sys

from autodiff import Value, grad, gradcheck, hessian, no_grad, primitive


def main(argv=()):
    argparse.ArgumentParser(description="A five-minute tour of the engine: an expression, backward(), higher "
                                        "derivatives, a new op, gradcheck. It takes no options.").parse_args(list(argv))
    print("1. An expression, and backward() to fill in every gradient")
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    z = x * y + (x * x).tanh() + y.exp()
    z.backward()
    print(f"   z = x*y + tanh(x*x) + exp(y) = {z.data:.6f}")
    print(f"   dz/dx = {x.grad:.6f}   (by hand: y + 2x(1 - tanh(x^2)^2) = "
          f"{y.data + 2 * x.data * (1 - math.tanh(x.data ** 2) ** 2):.6f})")
    print(f"   dz/dy = {y.grad:.6f}   (by hand: x + exp(y) = {x.data + math.exp(y.data):.6f})")

    print("\n2. A node used twice gets both contributions")
    a = Value(3.0, label="a")
    b = a + a
    b.backward()
    print(f"   b = a + a, parents {[p.label for p in b.parents]}, da = {a.grad}")

    print("\n3. Derivatives of any order, as functions")
    f = lambda t: t ** 3  # noqa: E731
    print(f"   f(t) = t^3 at t = 2:  f' = {grad(f)(2.0)},  f'' = {grad(grad(f))(2.0)},"
          f"  f''' = {grad(grad(grad(f)))(2.0)}")
    rosen = lambda p, q: (1 - p) ** 2 + 100 * (q - p * p) ** 2  # noqa: E731
    print(f"   Hessian of Rosenbrock at (1, 1): {hessian(rosen, argnums=(0, 1))(1.0, 1.0)}")

    print("\n4. A new op from its forward and its derivative")

    @primitive(lambda t: 1 / (1 + t * t))
    def arctan(t):
        return math.atan(t)

    t = Value(0.5)
    arctan(t).backward()
    print(f"   arctan'(0.5) = {t.grad:.6f}; its second derivative = {grad(grad(arctan))(0.5):.6f}"
          f" (by hand: {-2 * 0.5 / (1 + 0.25) ** 2:.6f})")
    print(f"   gradcheck(arctan, [0.5], order=2) -> {gradcheck(arctan, [0.5], order=2)}")

    print("\n5. no_grad(): numbers only, no graph")
    with no_grad():
        w = x * y
    print(f"   x * y = {w.data} with parents {w.parents}")


if __name__ == "__main__":
    main(sys.argv[1:])
