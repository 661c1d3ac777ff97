"""One line, two realities: the Python side of `x = 42`."""
import sys

x = 42
print("sys.getsizeof(x) =", sys.getsizeof(x), "bytes")
print("id(x)            =", hex(id(x)))

y = 257
z = 257
print("id(y) == id(z)   :", id(y) == id(z))
