"""Evidence for section 1: object sizes, the small-int cache, identity, where objects live.

Prints one JSON document; the engine turns it into facts.
"""
import dis
import io
import json
import sys


def identity_at(n):
    """Are two ints of value n, each built at run time from text, the same object?"""
    return int(str(n)) is int(str(n))


def repl_identity():
    """The listing's lines compiled one at a time, as the interactive interpreter does."""
    ns = {}
    for line in ("y = 257", "z = 257", "same = id(y) == id(z)"):
        exec(compile(line, "<stdin>", "single"), ns)
    return ns["same"]


def script_identity():
    """The same lines compiled together, as a script is: one code object, one constant."""
    ns = {}
    exec(compile("y = 257\nz = 257\nsame = id(y) == id(z)\n", "<script>", "exec"), ns)
    return ns["same"]


def runtime_identity():
    y = int("257")
    z = int("257")
    return id(y) == id(z)


def disassembly(source, inside_function):
    code = compile(source, "<listing>", "exec")
    if inside_function:
        code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    out = io.StringIO()
    dis.dis(code, file=out)
    ops = [i.opname for i in dis.get_instructions(code)]
    return out.getvalue(), ops


def main():
    big = int("1" * 30)          # a fresh object, made now
    objects = {"42": 42, "fresh_big_int": big, "None": None, "True": True}
    with open("/proc/self/maps") as fh:
        maps = fh.read()
    module_dis, module_ops = disassembly("x = 42\n", inside_function=False)
    func_dis, func_ops = disassembly("def f():\n    x = 42\n    return x\n", inside_function=True)
    facts = {
        "getsizeof_42": sys.getsizeof(42),
        "object_sizeof": object().__sizeof__(),
        "int_basicsize": int.__basicsize__,
        "int_itemsize": int.__itemsize__,
        "pointer_size": 8 if sys.maxsize > 2**32 else 4,
        "identity": {str(n): identity_at(n) for n in (-7, -6, -5, -4, 0, 255, 256, 257, 258)},
        "same_257_script": script_identity(),
        "same_257_repl": repl_identity(),
        "same_257_runtime": runtime_identity(),
        "addresses": {name: id(obj) for name, obj in objects.items()},
        "maps": maps,
        "dis_module": module_dis,
        "dis_module_ops": module_ops,
        "dis_function": func_dis,
        "dis_function_ops": func_ops,
        "python": sys.version,
    }
    json.dump(facts, sys.stdout)


if __name__ == "__main__":
    main()
