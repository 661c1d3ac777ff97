"""Where do Python's values live? Look each one up in this process's own address map.

CPython's id() of an object is its address, so /proc/self/maps can say which mapping
holds it: the interpreter's image (built when the program was linked) or memory the
process asked the kernel for while running (the brk heap, anonymous mmap regions).
"""
import sys

N_DIGITS = 30   # long enough that the int cannot be a shared small one


def values() -> dict:
    """One value of each kind; the last few are built while the program runs."""
    built = "".join(["run", "-", "time"])
    return {
        "None": None,
        "True": True,
        "small int 42": 42,
        "int 256": 256,
        "fresh int": int("9" * N_DIGITS),
        "float literal": 3.25,
        "float at run time": float(len(sys.argv)) / 4,
        "str literal": "hello",
        "str at run time": built,
        "one-char str": "a",
        "empty tuple": (),
        "list": [1, 2, 3],
        "dict": {"a": 1},
        "the type int": int,
    }


def read_maps() -> list:
    """(start, end, permissions, path) for every mapping of this process."""
    out = []
    with open("/proc/self/maps") as fh:
        for line in fh:
            fields = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5].strip() if len(fields) > 5 else ""
            out.append((start, end, fields[1], path))
    return out


def main() -> None:
    objects = values()          # keep them alive while the map is read
    maps = read_maps()
    for name, obj in objects.items():
        addr = id(obj)
        hit = next((m for m in maps if m[0] <= addr < m[1]), None)
        where = f"{hit[2]} {hit[3] or '(anonymous)'}" if hit else "unmapped"
        print(f"{name:<18} {addr:#014x}  {where}")
    if "--maps" in sys.argv:
        print("--- /proc/self/maps ---")
        with open("/proc/self/maps") as fh:
            print(fh.read(), end="")


if __name__ == "__main__":
    main()
