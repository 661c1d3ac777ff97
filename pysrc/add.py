"""Adding two ints in Python: what the interpreter is asked to do for `a + b`."""
import dis


def add(a, b):
    return a + b


print("add(2, 3) =", add(2, 3))
print("--- bytecode, as compiled ---")
dis.dis(add)

# After a few calls with ints, CPython 3.11 rewrites the generic BINARY_OP into a form
# specialised for ints; it still makes a result object. (Older versions: no `adaptive`.)
for i in range(100):
    add(i, 1000)
print("--- bytecode, after warming up on ints ---")
try:
    dis.dis(add, adaptive=True)
except TypeError:
    print("(this Python does not specialise bytecode)")
