"""Connected components of the verified-duplicate graph.

Beam graphs are static, so :class:`~curation.dedup.transforms.NearDedup` runs a
few rounds of the alternating Large-Star / Small-Star algorithm (Kiveris et
al., "Connected Components in MapReduce and Beyond", 2014): each step is one
group-by-node, no node ever sees more than its own neighbours, and the graph
converges to one star per component whose centre is the component's smallest
node (O(log^2 n) rounds proven, ~log n in practice). Each round shrinks what is
left, so after a few the links still joining stars are few enough for the
plain union-find here to finish them on one worker. This module holds the two
per-node steps, an in-memory driver of the same steps for tests, and the union-find.

Edges are ``(small, large)`` pairs of comparable node labels (document ids).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Hashable, Iterable, Iterator, TypeVar

Node = TypeVar("Node", bound=Hashable)
Edge = tuple  # (smaller node, larger node)


class ComponentsNotConvergedError(RuntimeError):
    """The unrolled rounds ended before every component became a star: never guess."""


def large_star(node: Node, neighbours: Iterable[Node]) -> Iterator[Edge]:
    """Links every larger neighbour of ``node`` to the smallest of node and neighbours.

    ``neighbours`` is iterated twice (Beam's grouped values are re-iterable), so a
    hub with millions of neighbours needs no list in memory.
    """
    smallest = min(min(neighbours), node)
    for neighbour in neighbours:
        if neighbour > node:
            yield (smallest, neighbour)


def small_star(node: Node, smaller_neighbours: Iterable[Node]) -> Iterator[Edge]:
    """Links ``node`` and its smaller neighbours to the smallest of them."""
    smallest = min(smaller_neighbours)
    for neighbour in smaller_neighbours:
        if neighbour != smallest:
            yield (smallest, neighbour)
    yield (smallest, node)


def _group(pairs: Iterable[tuple[Node, Node]]) -> dict[Node, list[Node]]:
    grouped: dict[Node, list[Node]] = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return grouped


def alternating_star_round(edges: Iterable[Edge]) -> list[Edge]:
    """One Large-Star then one Small-Star step, in memory (what one Beam round does)."""
    edges = list(edges)
    by_node = _group([(u, v) for u, v in edges] + [(v, u) for u, v in edges])
    edges = [e for node, nbrs in sorted(by_node.items()) for e in large_star(node, nbrs)]
    by_larger = _group((v, u) for u, v in edges)
    return [e for node, nbrs in sorted(by_larger.items()) for e in small_star(node, nbrs)]


def star_roots(edges: Iterable[Edge]) -> dict[Node, set[Node]]:
    """Each node's candidate roots: its parent if a leaf, itself if a centre.

    The graph is a converged star forest exactly when every node has one root:
    a node with two parents, or that is both a leaf and a centre, gets two.
    """
    roots: dict[Node, set[Node]] = defaultdict(set)
    for centre, leaf in edges:
        roots[leaf].add(centre)
        roots[centre].add(centre)
    return roots


def union_find_roots(nodes: Iterable[Node], edges: Iterable[Edge]) -> dict[Node, Node]:
    """Reference: each node's component, named by its smallest node (plain union-find)."""
    parent: dict[Node, Node] = {node: node for node in nodes}

    def find(node: Node) -> Node:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for u, v in edges:
        parent.setdefault(u, u)
        parent.setdefault(v, v)
        root_u, root_v = find(u), find(v)
        if root_u != root_v:
            small, large = sorted((root_u, root_v))
            parent[large] = small
    return {node: find(node) for node in parent}
