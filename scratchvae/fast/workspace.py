"""Arrays reused step after step, instead of allocated afresh. Reference: none (no formula changes).

At batch 20 a training step of the IWAE recipe handles arrays of a few thousand floats, and asking the
allocator for each of them, and for its temporaries, costs as much as computing them. A Workspace keeps
one array per name and hands it back while the shape and dtype stay the same:

    ws = Workspace(xp)
    y = ws.get("q1.0", (20, 200), float32)        # the same array every step (its values: stale, overwrite them)

One array per name, not per shape: a batch of another size (an evaluation of 1,000 images, a short last
batch) replaces the array, so memory follows the latest shapes and never accumulates.
A caller must be done with an array before asking for the same name again (a forward's outputs live
until its backward has consumed them; the next forward may overwrite them).
"""


class Workspace:
    def __init__(self, xp):
        self.xp = xp
        self.arrays = {}                         # name -> array

    def get(self, name, shape, dtype):
        a = self.arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = self.arrays[name] = self.xp.empty(shape, dtype=dtype)
        return a

    def zeros(self, name, shape, dtype):
        a = self.get(name, shape, dtype)
        a[...] = 0
        return a
