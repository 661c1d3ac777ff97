"""sizes.py: how many bytes CPython gives each kind of value, as sys.getsizeof reports.

Every value is an object: a header (reference count and type pointer) comes before the data.
A container's size counts its own block of references, not the objects they refer to.
"""
import sys

# Each value is written once, as text, so the line printed is exactly the value measured.
VALUES = ["'a'", "True", "42", "2**62", "1.5", "None", "(1, 2, 3)", "[1, 2, 3]", "{'a': 1}"]

for text in VALUES:
    print(f"sys.getsizeof({text}) = {sys.getsizeof(eval(text))}")
