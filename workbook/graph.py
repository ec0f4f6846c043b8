"""Strongly connected components of a dependency graph, for the two evaluators (``fastcalc`` orders cells
precedents first; ``engine`` reports the cells of circular references found by ``formulas``)."""

from __future__ import annotations


def components(succ: dict):
    """Yield each strongly connected component of ``succ`` (node -> iterable of nodes) as a list, every
    component after all those it reaches (Tarjan's algorithm, iteratively: a 20,000-cell chain needs no
    recursion). A component of one node is a cycle only if the node reaches itself."""
    index, low, on, stack = {}, {}, set(), []
    counter = 0
    for root in list(succ):
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(succ.get(nxt, ()))))
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    yield comp


def is_cycle(comp: list, succ: dict) -> bool:
    return len(comp) > 1 or comp[0] in succ.get(comp[0], ())
