"""What a failing solution most likely gets wrong: known mistakes replayed against its output.

For each failing case every known mistake is computed on the case's inputs (cnnviz.ops with a
changed argument, or a small loop implementation where the mistake moves windows); a mistake
explains a wrong output when it differs from the right answer and matches the student's output
(same shape, np.isclose). Two checks need no replay: right values in a wrong shape, and an average
off by a constant factor. Which kinds of case fail (stride > 1, "same" with an even kernel, tied
maxima, ...) is reported too.
"""

from collections.abc import Iterator

import numpy as np

from cnnviz.check import homework
from cnnviz.check.cases import ATOL, HOMEWORK, RTOL, Case
from cnnviz.check.grade import CaseResult, OutputResult
from cnnviz.nn import ops

TEXTS = {
    "kernel_flipped": "the kernel is flipped (a true convolution): the course's layer is a "
                      "cross-correlation, so multiply each window by W as it is, not by "
                      "W[::-1, ::-1]",
    "bias_missing": "the bias b is not added: Z = sum(window * W) + b",
    "bias_twice": "the bias b is added twice",
    "stride_ignored": "the stride is ignored: window (i, j) starts at row i * sh, column j * sw",
    "stride_one_axis": "the stride is applied on one axis only (or sh used for both axes): rows "
                       "move by sh, columns by sw",
    "padding_one_side": "the padding is added on one side only; pad both: np.pad(A_prev, "
                        "((0, 0), (top, bottom), (left, right), (0, 0)))",
    "same_rule": "your 'same' padding is not TensorFlow's rule, which cnnviz follows: in total "
                 "max((ceil(h_prev / sh) - 1) * sh + kh - h_prev, 0) rows, half on top and the "
                 "odd extra one at the bottom (columns alike), so h_new = ceil(h_prev / sh). The "
                 "course's formula ph = ((h_prev - 1) * sh + kh - h_prev) // 2 on both sides "
                 "agrees with it only for odd kernels and stride 1, as in the course's cases",
    "same_extra_side": "with 'same' padding and an odd total, the extra row/column goes at the "
                       "bottom/right (TensorFlow's rule), not at the top/left",
    "mode_swapped": "mode is ignored: the other pooling mode is computed",
    "avg_divisor": "the average is divided by the wrong number: your values are {ratio:.4g} x "
                   "the expected ones, as if divided by {divisor:.4g} instead of kh * kw = {area}",
    "ties_first": "the max-pool gradient goes only to the first of tied maxima (TensorFlow's "
                  "rule); the course gives it to every position equal to the window's maximum: "
                  "mask = (window == np.max(window))",
    "ties_all": "the max-pool gradient goes to every tied maximum (the course's rule); with "
                "--tie-break first it goes only to the first in row-major order, like TensorFlow",
    "ties_shared": "the max-pool gradient is shared out among tied maxima; the course gives the "
                   "whole gradient to each of them",
    "overlap_overwrite": "overlapping windows overwrite each other's gradient (=) instead of "
                         "adding up (+=)",
    "dW_not_summed": "dW is not summed over the batch (it is one example's, or the mean): "
                     "dW = sum over examples and positions of window * dZ",
    "db_not_summed": "db is not summed over the batch: db = np.sum(dZ, axis=(0, 1, 2), "
                     "keepdims=True)",
    "reshape": "{output} has the right values but shape {got_shape}; the course's {output} has "
               "shape {expected_shape} (for db: np.sum(..., keepdims=True))",
    **homework.TEXTS,
}


def explain(result: CaseResult) -> dict[str, list[tuple[str, dict]]]:
    """Per wrong output name, the (mistake key, text fields) that reproduce it."""
    found: dict[str, list[tuple[str, dict]]] = {}
    failing = result.failing
    if not failing:
        return found
    names = [output.name for output in result.outputs]
    for key, candidate in _candidates(result.case):
        for output in failing:
            replay = candidate[names.index(output.name)]
            replayed = replay is not None and _same(replay, output.got)
            if replayed and not _same(replay, output.expected):
                found.setdefault(output.name, []).append((key, {}))
    for output in failing:
        for key, fields in _direct_checks(result.case, output):
            found.setdefault(output.name, []).append((key, fields))
    return {name: list({key: fields for key, fields in keys}.items())
            for name, keys in found.items()}


def text(key: str, fields: dict) -> str:
    return TEXTS[key].format(**fields)


def explain_all(results: list[CaseResult]) -> dict[str, dict[str, list[tuple[str, dict]]]]:
    """explain() of every case with a wrong output, by case name."""
    return {r.case.name: explain(r) for r in results if r.status in ("fail", "shape")}


def summary(results: list[CaseResult], explained: dict) -> list[str]:
    """Lines for the student: the fewest known mistakes that reproduce the most wrong outputs
    (greedily, the best first), then which kinds of case fail. explained: from explain_all."""
    wrong = [r for r in results if r.status in ("fail", "shape")]
    if not wrong:
        return []
    explains, fields = {}, {}  # mistake -> the (case, output) it reproduces; its text fields
    unexplained = set()
    for result in wrong:
        for output in result.failing:
            unexplained.add((result.case.name, output.name))
            for key, key_fields in explained[result.case.name].get(output.name, []):
                explains.setdefault(key, set()).add((result.case.name, output.name))
                fields.setdefault(key, key_fields)
    total, lines = len(unexplained), []
    while explains and unexplained:
        key = max(explains, key=lambda k: len(explains[k] & unexplained))
        if not explains[key] & unexplained:
            break
        lines.append(f"{'Most likely' if not lines else 'Also'} {text(key, fields[key])} "
                     f"(reproduces {len(explains[key])} of the {total} wrong outputs).")
        unexplained -= explains.pop(key)
    if not lines:
        lines.append("No known mistake reproduces your output exactly; compare the first wrong "
                     "index with a hand computation, or see the heatmaps of --report.")
    return lines + feature_hints(results)


def feature_hints(results: list[CaseResult]) -> list[str]:
    """'Only the cases with X fail' for every feature X that splits failing from passing cases."""
    graded = [r for r in results if r.status in ("pass", "fail", "shape")]
    failing = {r.case.name for r in graded if r.status != "pass"}
    if not failing or len(failing) == len(graded):
        return []
    hints = []
    if all(r.status == "pass" for r in graded if r.case.course):
        hints.append("The course's own cases pass; only random cases fail.")
    for feature in sorted(set().union(*(r.case.features for r in graded))):
        if {r.case.name for r in graded if feature in r.case.features} == failing:
            hints.append(f"Exactly the cases with {feature} fail.")
    return hints


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _direct_checks(case: Case, output: OutputResult) -> Iterator[tuple[str, dict]]:
    got, expected = output.got, output.expected
    if got is None:
        return
    if not output.shape_ok and got.size == expected.size and _same(got.reshape(expected.shape),
                                                                   expected):
        yield "reshape", {"output": output.name, "got_shape": got.shape,
                          "expected_shape": expected.shape}
    if output.shape_ok and case.args.get("mode") == "avg" and np.any(expected):
        ratio = float((got * expected).sum() / (expected * expected).sum())
        if not np.isclose(ratio, 1) and _same(got, ratio * expected):
            area = int(np.prod(case.args["kernel_shape"]))
            yield "avg_divisor", {"ratio": ratio, "divisor": area / ratio if ratio else np.inf,
                                  "area": area}


# --- replays of the known mistakes -------------------------------------------------------------

Candidate = tuple[np.ndarray | None, ...]  # one entry per output; None: this mistake leaves it


def _candidates(case: Case) -> Iterator[tuple[str, Candidate]]:
    replays = homework.replays if case.task in HOMEWORK else {
        "conv_forward": _conv_forward, "pool_forward": _pool_forward,
        "conv_backward": _conv_backward, "pool_backward": _pool_backward}[case.task]
    for key, thunk in replays(case):
        try:
            candidate = thunk()
        except ValueError:  # the mistaken geometry does not fit this case
            continue
        if candidate is not None:
            yield key, candidate


def _stride_variants(stride) -> Iterator[tuple[str, tuple[int, int]]]:
    sh, sw = stride
    if (sh, sw) != (1, 1):
        yield "stride_ignored", (1, 1)
    for variant in sorted({(sh, 1), (1, sw), (sh, sh), (sw, sw)} - {(sh, sw), (1, 1)}):
        yield "stride_one_axis", variant


def _padding_variants(case: Case) -> Iterator[tuple[str, ops.Pads]]:
    """Mistaken pads ((top, bottom), (left, right)): the "same" rules first, as a "same" case
    padded on one side is most likely a "same" rule gone wrong."""
    pads = case.pads()
    (top, bottom), (left, right) = pads
    variants = []
    if case.args["padding"] == "same":
        (h, w), (kh, kw), (sh, sw) = (case.args["A_prev"].shape[1:3], case.args["W"].shape[:2],
                                      case.args["stride"])
        course = (((h - 1) * sh + kh - h) // 2, ((w - 1) * sw + kw - w) // 2)
        for ph, pw in (course, ((kh - 1) // 2, (kw - 1) // 2), (kh // 2, kw // 2)):
            variants.append(("same_rule", ((ph, ph), (pw, pw))))
        variants.append(("same_extra_side", ((bottom, top), (right, left))))
    if top + bottom + left + right:
        variants += [("padding_one_side", p) for p in (
            ((top + bottom, 0), (left + right, 0)), ((0, top + bottom), (0, left + right)),
            ((top, 0), (left, 0)), ((0, bottom), (0, right)))]
    seen = {pads}
    for key, variant in variants:
        if variant not in seen:
            seen.add(variant)
            yield key, variant


def _crop(array: np.ndarray, like: np.ndarray) -> np.ndarray:
    return array[:, : like.shape[1], : like.shape[2]]


def _conv_forward(case: Case):
    a, expected, right_pads = case.args, case.expected[0], case.pads()

    def conv(W=a["W"], b=a["b"], pads=right_pads, stride=a["stride"]):
        return ops.conv_forward(ops.pad(a["A_prev"], pads), W, b, a["activation"], "valid", stride)

    yield "kernel_flipped", lambda: (conv(W=a["W"][::-1, ::-1]),)
    yield "bias_missing", lambda: (conv(b=0 * a["b"]),)
    yield "bias_twice", lambda: (conv(b=2 * a["b"]),)
    for key, stride in _stride_variants(a["stride"]):
        yield key, lambda stride=stride: (conv(stride=stride),)
        yield key, lambda stride=stride: (_crop(conv(stride=stride), expected),)
    for key, pads in _padding_variants(case):
        yield key, lambda pads=pads: (conv(pads=pads),)


def _pool_forward(case: Case):
    a, expected = case.args, case.expected[0]
    other = "avg" if a["mode"] == "max" else "max"
    yield "mode_swapped", lambda: (ops.pool_forward(a["A_prev"], a["kernel_shape"], a["stride"],
                                                    other),)
    for key, stride in _stride_variants(a["stride"]):
        def replay(stride=stride):
            return ops.pool_forward(a["A_prev"], a["kernel_shape"], stride, a["mode"])
        yield key, lambda replay=replay: (replay(),)
        yield key, lambda replay=replay: (_crop(replay(), expected),)


def _conv_backward(case: Case):
    a = case.args
    dZ, A_prev, W, b = a["dZ"], a["A_prev"], a["W"], a["b"]
    _, dW, db = case.expected
    right_pads = case.pads()

    def loops(pads=right_pads, place=a["stride"]):
        found = _conv_backward_loops(dZ, A_prev, W, pads, place)
        return None if found is None else (*found, None)

    yield "kernel_flipped", lambda: (
        ops.conv_backward(dZ, A_prev, W[::-1, ::-1], b, a["padding"], a["stride"])[0], None, None)
    yield "kernel_flipped", lambda: (None, dW[::-1, ::-1], None)
    for key, stride in _stride_variants(a["stride"]):
        yield key, lambda stride=stride: loops(place=stride)
    for key, pads in _padding_variants(case):
        yield key, lambda pads=pads: loops(pads=pads)
    if len(dZ) > 1:
        for part in (slice(0, 1), slice(-1, None)):
            def one(part=part):
                _, dW_one, db_one = ops.conv_backward(dZ[part], A_prev[part], W, b,
                                                      a["padding"], a["stride"])
                return dW_one, db_one
            yield "dW_not_summed", lambda one=one: (None, one()[0], None)
            yield "db_not_summed", lambda one=one: (None, None, one()[1])
        yield "dW_not_summed", lambda: (None, dW / len(dZ), None)
        yield "db_not_summed", lambda: (None, None, db / len(dZ))


def _pool_backward(case: Case):
    a = case.args
    dA, A_prev, kernel, stride, mode = (a["dA"], a["A_prev"], a["kernel_shape"], a["stride"],
                                        a["mode"])

    def loops(place=stride, ties=case.tie_break, add=True, mode=mode):
        return (_pool_backward_loops(dA, A_prev, kernel, place, mode, ties, add),)

    yield "mode_swapped", lambda: loops(mode="avg" if mode == "max" else "max")
    if mode == "max":
        other = "first" if case.tie_break == "all" else "all"
        yield f"ties_{other}", lambda: loops(ties=other)
        yield "ties_shared", lambda: loops(ties="shared")
    for key, place in _stride_variants(stride):
        yield key, lambda place=place: loops(place=place)
    if kernel[0] > stride[0] or kernel[1] > stride[1]:
        yield "overlap_overwrite", lambda: loops(add=False)


def _conv_backward_loops(dZ, A_prev, W, pads, place) -> tuple[np.ndarray, np.ndarray] | None:
    """(dA_prev, dW) of a student-style loop over dZ's positions, windows placed `place` apart
    in A_prev padded by `pads` and cropped back; None when a window falls outside."""
    A_padded = ops.pad(A_prev, pads)
    dA_padded, dW = np.zeros(A_padded.shape), np.zeros(W.shape)
    (kh, kw), (ph, pw) = W.shape[:2], place
    for i in range(dZ.shape[1]):
        for j in range(dZ.shape[2]):
            rows, cols = slice(i * ph, i * ph + kh), slice(j * pw, j * pw + kw)
            if rows.stop > A_padded.shape[1] or cols.stop > A_padded.shape[2]:
                return None
            dz = dZ[:, i, j, :]  # (m, c_new)
            dA_padded[:, rows, cols, :] += np.einsum("mk,hwck->mhwc", dz, W)
            dW += np.einsum("mhwc,mk->hwck", A_padded[:, rows, cols, :], dz)
    (top, _), (left, _) = pads
    return dA_padded[:, top : top + A_prev.shape[1], left : left + A_prev.shape[2]], dW


def _pool_backward_loops(dA, A_prev, kernel, place, mode, ties, add) -> np.ndarray | None:
    """dA_prev of a student-style loop: windows `place` apart; max gradient to tied maxima by
    `ties` ("all", "first" or "shared"); `add` False overwrites overlapping windows."""
    dA_prev = np.zeros(A_prev.shape)
    (kh, kw), (ph, pw) = kernel, place
    for i in range(dA.shape[1]):
        for j in range(dA.shape[2]):
            rows, cols = slice(i * ph, i * ph + kh), slice(j * pw, j * pw + kw)
            if rows.stop > A_prev.shape[1] or cols.stop > A_prev.shape[2]:
                return None
            window, upstream = A_prev[:, rows, cols, :], dA[:, i : i + 1, j : j + 1, :]
            if mode == "avg":
                share = np.broadcast_to(upstream / (kh * kw), window.shape)
            else:
                mask = (window == window.max(axis=(1, 2), keepdims=True)).astype(np.float64)
                if ties == "first":
                    flat = mask.reshape(len(mask), kh * kw, -1)
                    first = np.zeros_like(flat)
                    np.put_along_axis(first, flat.argmax(axis=1)[:, None], 1.0, axis=1)
                    mask = first.reshape(mask.shape)
                elif ties == "shared":
                    mask /= mask.sum(axis=(1, 2), keepdims=True)
                share = mask * upstream
            if add:
                dA_prev[:, rows, cols, :] += share
            else:
                dA_prev[:, rows, cols, :] = share
    return dA_prev
