"""Adding two ints in Python: what the interpreter is asked to do for `a + b`."""
import dis
import json
import sys


def add(a, b):
    return a + b


def opnames(**kw):
    """The instructions' names, read from dis's records (its printed layout varies by version)."""
    return [i.opname for i in dis.get_instructions(add, **kw)]


print("add(2, 3) =", add(2, 3))
print("--- bytecode, as compiled ---")
dis.dis(add)
compiled = opnames()

# After a few calls with ints, CPython 3.11 and later rewrite the generic BINARY_OP into a
# form specialised for ints; it still makes a result object. (Older versions: no `adaptive`.)
for i in range(100):
    add(i, 1000)
print("--- bytecode, after warming up on ints ---")
try:
    dis.dis(add, adaptive=True)
    adaptive = opnames(adaptive=True)
except TypeError:
    print("(this Python does not specialise bytecode)")
    adaptive = None

if "--opnames" in sys.argv:     # for the build: the same facts, machine-readable
    print("--- opnames (JSON) ---")
    print(json.dumps({"compiled": compiled, "adaptive": adaptive}))
